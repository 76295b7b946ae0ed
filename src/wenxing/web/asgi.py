"""ASGI entry point for several workers: each opens the installation from the environment,
waiting for the database if it is not there yet (``starting.PatientApp``)."""

from wenxing.config import Settings
from wenxing.web import logs
from wenxing.web.starting import patient_app

logs.configure()  # each worker process logs JSON lines too

app = patient_app(Settings())
