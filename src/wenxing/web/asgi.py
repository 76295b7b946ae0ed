"""ASGI entry point for several workers: each opens the installation from the environment."""

from wenxing.config import Settings
from wenxing.runtime import open_runtime
from wenxing.web import logs
from wenxing.web.app import create_app

logs.configure()  # each worker process logs JSON lines too

app = create_app(open_runtime(Settings()))
