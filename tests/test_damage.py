"""curate.dedup.damage: the diff that checks span dedup's output finds the damage of
issue 15, and does not report clean cuts as damage."""

from __future__ import annotations

from curate.dedup.damage import audit_edit


def removed(before, audit):
    return [(before[r.start : r.end], r.inside_word) for r in audit.removals]


def test_the_issue_damage_is_found():
    before = "Die Automobilfabriken G.m.b.H.“ (G.D.A.) baute Autos."
    audit = audit_edit(before, "Die Automobilfabriken G.“ (G.D.A.) baute Autos.")
    assert removed(before, audit) == [("m.b.H.", True)]
    assert audit.below(10, 50) == 1 and audit.inside_word() == 1
    before = "Aktionszeitraum: 21.10.2019 – 27.10.2019 jetzt."
    audit = audit_edit(before, "Aktionszeitraum: 21. 2019 jetzt.")
    assert audit.inside_word() >= 1 and audit.altered == 0


def test_clean_cuts_are_not_damage():
    before = "A one. B two. C three.\n\nD four. E five."
    for after in ("A one. E five.", "A one.\n\nD four. E five.", "D four. E five.", "A one. B two. C three."):
        audit = audit_edit(before, after)
        assert audit.removals and audit.inside_word() == 0 and audit.seam_faults == 0 and audit.altered == 0, after
    # a repeat beside its copy: whichever copy the diff picks, the cut is clean
    audit = audit_edit("X ab. X ab. X ab. Z.", "X ab. Z.")
    assert removed("X ab. X ab. X ab. Z.", audit) == [("X ab. X ab.", False)]
    assert audit_edit(before, before).removals == []
    # the diff may align the cut one sentence off (both end in "app."): slid back
    before = (
        "Try this app. \n\n* Reach people who review your app. \n* Ask your friends about the app. \n* Finally, ask."
    )
    audit = audit_edit(before, "Try this app.\n\n* Finally, ask.")
    assert audit.seam_faults == 0 and len(audit.removals) == 1 and audit.inside_word() == 0


def test_seam_faults_are_found():
    before = "A one. B two. C three. D four."
    assert audit_edit(before, "A one.  D four.").seam_faults == 1  # doubled space
    assert audit_edit(before, "A one.D four.").seam_faults == 1  # missing space
    assert audit_edit(before, " B two. C three. D four.").seam_faults == 1  # left at the start
    assert audit_edit(before, "A one. B two.\n\n\nD four.").seam_faults == 1  # newlines from nowhere
    assert audit_edit(before, "A one. B two. C three. D four. E").altered == 1


def test_scripts_without_spaces_must_be_cut_after_a_full_stop():
    before = "甲乙。丙丁。戊己。"
    assert audit_edit(before, "甲乙。戊己。").inside_word() == 0
    assert audit_edit(before, "甲乙丁。戊己。").inside_word() == 1
