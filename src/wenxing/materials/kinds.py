"""The kind of a material (讲话, 报告 …), from its title first and its structure second."""

from __future__ import annotations

import re

from wenxing.materials.outline import Structure

# Checked in order: the more specific kinds first (调研报告 before 报告, 通知 before 方案,
# since 关于印发…方案的通知 is a notice).
_BY_TITLE: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("通知", re.compile(r"通知$|通知[（(]")),
    ("调研报告", re.compile(r"调研|调查报告|考察报告")),
    ("心得体会", re.compile(r"心得|体会|感悟|感想|读后感|观后感")),
    ("讲话", re.compile(r"讲话|致辞|发言|主持词|讲稿|党课|动员|报告会上")),
    ("总结", re.compile(r"总结|述职|工作汇报|汇报材料|情况汇报")),
    ("方案", re.compile(r"方案|计划|规划|要点|措施|办法|意见$|细则")),
    ("报告", re.compile(r"报告|决议")),
)


def classify(title: str | None, structure: Structure) -> str:
    if title:
        for kind, pattern in _BY_TITLE:
            if pattern.search(title):
                return kind
    salutations = structure.nodes("salutation")
    if salutations:
        heading = salutations[0].heading
        if "代表" in heading or "委员" in heading:
            return "报告"
        return "讲话"
    if structure.body.startswith(("同志们", "各位")):
        return "讲话"
    return "其他"
