"""Imports every domain's tables so that metadata (and Alembic) sees all of them."""

from wenxing import (
    audit,  # noqa: F401  (registers tables)
    jobs,  # noqa: F401  (registers tables)
)
from wenxing.db import meta  # noqa: F401  (registers tables)
from wenxing.db.base import Base
from wenxing.delivery import models as delivery_models  # noqa: F401  (registers tables)
from wenxing.live import models as live_models  # noqa: F401  (registers tables)
from wenxing.materials import models as material_models  # noqa: F401  (registers tables)
from wenxing.members import models as member_models  # noqa: F401  (registers tables)
from wenxing.reports import models as report_models  # noqa: F401  (registers tables)
from wenxing.search import models as search_models  # noqa: F401  (registers tables)

metadata = Base.metadata
