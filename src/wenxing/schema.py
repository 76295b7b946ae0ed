"""Every domain's tables in one metadata, for Alembic and the schema check.

It imports each domain's models, so it sits over the domains (beside ``wiring``), not in
``db``, which the domains build on. Alembic's ``db/migrations/env.py`` and
``runtime`` (``migrate.schema_drift(engine, schema.metadata)``) read it.
"""

from wenxing import (
    audit,  # noqa: F401  (registers tables)
    jobs,  # noqa: F401  (registers tables)
)
from wenxing.compose import models as compose_models  # noqa: F401  (registers tables)
from wenxing.db import meta  # noqa: F401  (registers tables)
from wenxing.db.base import Base
from wenxing.delivery import models as delivery_models  # noqa: F401  (registers tables)
from wenxing.live import models as live_models  # noqa: F401  (registers tables)
from wenxing.materials import models as material_models  # noqa: F401  (registers tables)
from wenxing.members import models as member_models  # noqa: F401  (registers tables)
from wenxing.reports import models as report_models  # noqa: F401  (registers tables)
from wenxing.requests import models as request_models  # noqa: F401  (registers tables)
from wenxing.search import models as search_models  # noqa: F401  (registers tables)

metadata = Base.metadata
