"""相似段落 (issue 25): sections of other materials on a section's topic, from the index and,
while it is rebuilt, from the database; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from tests.helpers import SAMPLE
from tests.materials import CITY_2018, CITY_2021, COUNTY_2017, PROVINCE_2026, RURAL_ROADS
from wenxing.db.base import utcnow
from wenxing.delivery.layout import layout_of
from wenxing.materials.importer import ImportOptions, MaterialImporter
from wenxing.materials.models import Material, MaterialVersion
from wenxing.search import similar as similar_sections
from wenxing.search.similar import SectionNotFound, Viewer, similar
from wenxing.search.sync import IndexUnusable

LIBRARY = [SAMPLE, COUNTY_2017, CITY_2018, CITY_2021, RURAL_ROADS, PROVINCE_2026]
RURAL = "二、坚定不移推进乡村振兴"  # the sample speech's section on 乡村振兴


@pytest.fixture(scope="module")
def shared_library(module_runtime):
    importer = MaterialImporter(
        module_runtime.db, module_runtime.settings, module_runtime.publisher_settings()
    )
    report = importer.run(LIBRARY, ImportOptions(publish=True))
    assert not report.failed and len(report.imported) == len(LIBRARY)
    with module_runtime.db.transaction() as session:  # a day apart, the sample the newest
        for material in session.scalars(select(Material).order_by(Material.id.desc())):
            material.published_at = datetime(2026, 1, 1) - timedelta(days=material.id)
    node = module_runtime.search_index()
    node.reindex(jobs=1)
    return node


def _sample(runtime) -> tuple[int, str, dict[str, str]]:
    """The sample speech's id, the anchor of its 乡村振兴 section, and every anchor's label."""
    with runtime.db.reading() as session:
        material = session.scalars(
            select(Material).where(Material.title == "在全区重点工作推进会上的讲话")
        ).one()
        version = session.scalars(
            select(MaterialVersion).where(MaterialVersion.material_id == material.id)
        ).one()
        layout = layout_of(version.title, version.body, version.outline)
    labels = {entry.anchor: entry.label for entry in layout.toc}
    anchor = next(a for a, label in labels.items() if label.startswith(RURAL))
    return material.id, anchor, labels


def _title(runtime, material_id: int) -> str:
    with runtime.db.reading() as session:
        return session.get(Material, material_id).title


def test_a_section_on_rural_revitalisation_finds_the_others_not_its_own(
    module_runtime, shared_library
):
    sample_id, anchor, _labels = _sample(module_runtime)
    found = similar(shared_library, sample_id, anchor, Viewer(True, None))
    assert found.notice is None
    assert found.source.heading.startswith(RURAL)
    assert "乡村振兴" in found.terms
    assert found.sections and len(found.sections) <= similar_sections.LIMIT
    assert sample_id not in [s.material_id for s in found.sections]
    assert len({s.material_id for s in found.sections}) == len(found.sections)  # one each
    top = [s.heading for s in found.sections[:3]]
    assert any("乡村振兴" in h for h in top[:2]), top
    rural = [s for s in found.sections if "乡村振兴" in s.heading]
    assert {_title(module_runtime, s.material_id) for s in rural} >= {
        _title(module_runtime, s.material_id)
        for s in rural
        if "2018" in _title(module_runtime, s.material_id)
        or "2021" in _title(module_runtime, s.material_id)
    }
    assert len(rural) >= 2, [s.heading for s in found.sections]
    for section in found.sections:
        assert section.heading and section.title and section.version_id
        assert section.anchor and section.anchor.startswith("s")
        assert section.href == f"/materials/{section.material_id}/read#{section.anchor}"
    scores = [s.score for s in found.sections]
    assert scores == sorted(scores, reverse=True)


def test_the_anchor_lands_on_the_section_of_the_heading(module_runtime, shared_library):
    sample_id, anchor, _labels = _sample(module_runtime)
    found = similar(shared_library, sample_id, anchor, Viewer(True, None))
    with module_runtime.db.reading() as session:
        for section in found.sections:
            version = session.get(MaterialVersion, section.version_id)
            toc = {
                e.anchor: e.label
                for e in layout_of(version.title, version.body, version.outline).toc
            }
            # the heading path's last step is the anchored entry or lies within it
            last = section.heading.split(" › ")[-1]
            assert toc[section.anchor][:6] == last[:6] or section.heading.split(" › ")[0][:6] in [
                label[:6] for label in toc.values()
            ]


def test_a_members_answer_keeps_to_their_archive_window(module_runtime, shared_library):
    sample_id, anchor, _labels = _sample(module_runtime)
    everything = similar(shared_library, sample_id, anchor, Viewer(True, None))
    assert len(everything.sections) >= 2
    newest = max(s.published for s in everything.sections)
    window = (newest - 86400, newest + 3600)
    kept = similar(shared_library, sample_id, anchor, Viewer(True, window))
    assert kept.sections
    assert all(window[0] <= s.published <= window[1] for s in kept.sections)
    assert len(kept.sections) < len(everything.sections)
    assert not similar(shared_library, sample_id, anchor, Viewer(True, (0, 1000))).sections


def test_unknown_anchor_or_material_is_refused(module_runtime, shared_library):
    sample_id, _anchor, labels = _sample(module_runtime)
    with pytest.raises(SectionNotFound):
        similar(shared_library, sample_id, f"s{len(labels) + 5}", Viewer())
    with pytest.raises(SectionNotFound):
        similar(shared_library, 987654, "s1", Viewer())


def test_the_database_answers_while_the_index_is_rebuilt(
    module_runtime, shared_library, monkeypatch
):
    sample_id, anchor, _labels = _sample(module_runtime)

    def unusable(*_args, **_kwargs):
        raise IndexUnusable("rebuilding")

    monkeypatch.setattr(type(shared_library), "catch_up", unusable)
    found = similar(shared_library, sample_id, anchor, Viewer(True, None))
    assert found.notice
    assert found.sections
    assert sample_id not in [s.material_id for s in found.sections]
    assert "乡村振兴" in found.sections[0].heading, [s.heading for s in found.sections]
    assert all(s.anchor for s in found.sections)
    rural = [s for s in found.sections if "乡村振兴" in s.heading]
    assert len(rural) >= 2
    # the window holds there too
    year_ago = int((utcnow() - timedelta(days=365)).timestamp())
    none = similar(shared_library, sample_id, anchor, Viewer(True, (0, year_ago)))
    assert none.sections == []
