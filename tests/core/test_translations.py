"""The Chinese catalogue is complete, well-formed and compiled, and the admin theme's words are translated.

``make messages`` is what a developer runs after writing words people read; these tests fail when it was
not run, when an entry was left empty or fuzzy, when a translation drops a placeholder, when the compiled
``.mo`` is older than the ``.po``, and when the admin theme (after an upgrade) shows a word no catalogue
translates.
"""

from __future__ import annotations

import gettext
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.utils import translation

LOCALE = "zh_Hans"
CATALOGUES = Path(settings.BASE_DIR) / "locale" / LOCALE / "LC_MESSAGES"
PO = CATALOGUES / "django.po"
# The admin's JavaScript words Django's catalogue lacks, kept by hand (there is no JavaScript of ours to scan).
JS_PO = CATALOGUES / "djangojs.po"
# What `make messages` walks past; kept in step with the Makefile by test_makefile_ignores_the_same.
IGNORED = (".venv/*", ".data/*", "tests/*", "bench/*")
# Directories a copy of the project does not need: makemessages reads sources only.
NOT_COPIED = shutil.ignore_patterns(
    ".venv", ".data", ".git", "__pycache__", "node_modules", "staticfiles", "*.pyc", ".pytest_cache", "tests", "bench"
)


@pytest.fixture
def gettext_tools() -> None:
    """GNU gettext's xgettext and msgfmt, which makemessages runs. Without them the test is skipped, saying so,
    unless SEABRIDGE_REQUIRE_GETTEXT=1 (CI, which installs them) makes that a failure."""
    if shutil.which("xgettext") and shutil.which("msgfmt"):
        return
    message = "needs GNU gettext (xgettext, msgfmt): apt-get install gettext"
    if os.environ.get("SEABRIDGE_REQUIRE_GETTEXT") == "1":
        pytest.fail(message)
    pytest.skip(message)


def _entry_key(entry: polib.POEntry) -> tuple[str, str, str]:
    return (entry.msgctxt or "", entry.msgid, entry.msgid_plural or "")


def _makemessages(cwd: Path, extra_env: dict[str, str] | None = None) -> None:
    command = [sys.executable, "-m", "django", "makemessages", "--locale", LOCALE, "--add-location", "file"]
    command += ["--no-obsolete"] + [arg for pattern in IGNORED for arg in ("--ignore", pattern)]
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "SEABRIDGE_TESTING": "1", **(extra_env or {})}
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr


def test_makefile_ignores_the_same():
    recipe = (Path(settings.BASE_DIR) / "Makefile").read_text()
    for pattern in IGNORED:
        assert f"--ignore '{pattern}'" in recipe


def test_catalogue_has_every_word_of_the_code_and_no_other(gettext_tools, tmp_path):
    """Run `make messages` on a copy of the sources: the catalogue it writes has the entries of the committed one."""
    copy = tmp_path / "project"
    shutil.copytree(settings.BASE_DIR, copy, ignore=NOT_COPIED)
    _makemessages(copy, {"PYTHONPATH": str(copy)})
    fresh = {_entry_key(entry) for entry in polib.pofile(str(copy / PO.relative_to(settings.BASE_DIR)))}
    committed = {_entry_key(entry) for entry in polib.pofile(str(PO))}
    new = sorted(fresh - committed)
    gone = sorted(committed - fresh)
    assert not new, f"words not in the catalogue (run `make messages` and translate them): {new[:20]}"
    assert not gone, f"entries no code uses any more (run `make messages`): {gone[:20]}"


@pytest.mark.parametrize("po", [PO, JS_PO], ids=["django", "djangojs"])
def test_every_entry_is_translated_and_none_is_fuzzy(po):
    catalogue = polib.pofile(str(po))
    untranslated = [entry.msgid for entry in catalogue.untranslated_entries()]
    fuzzy = [entry.msgid for entry in catalogue.fuzzy_entries()]
    assert not untranslated, f"{len(untranslated)} entries have no translation: {untranslated[:20]}"
    assert not fuzzy, f"{len(fuzzy)} entries are marked fuzzy (check them, then remove the flag): {fuzzy[:20]}"
    assert catalogue.metadata["Language"] == LOCALE
    assert catalogue.metadata["Plural-Forms"].startswith("nplurals=1;")


@pytest.mark.parametrize("po", [PO, JS_PO], ids=["django", "djangojs"])
def test_translations_keep_their_placeholders(gettext_tools, po):
    """msgfmt --check-format: %(name)s, %s and {} in a msgid are in its translation, no more and no fewer."""
    result = subprocess.run(
        ["msgfmt", "--check-format", "--check-header", "-o", os.devnull, str(po)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("po", [PO, JS_PO], ids=["django", "djangojs"])
def test_compiled_catalogue_matches_the_source(po, tmp_path):
    """The committed .mo is the committed .po compiled: Django reads the .mo, people edit the .po."""
    compiled = tmp_path / "compiled.mo"
    polib.pofile(str(po)).save_as_mofile(str(compiled))
    with compiled.open("rb") as fresh, po.with_suffix(".mo").open("rb") as committed:
        fresh_catalogue = gettext.GNUTranslations(fresh)._catalog
        committed_catalogue = gettext.GNUTranslations(committed)._catalog
    # The header (key "") is compared line by line, without the creation date that msgfmt leaves out.
    fresh_header = {line for line in fresh_catalogue.pop("", "").splitlines() if not line.startswith("POT-")}
    committed_header = {line for line in committed_catalogue.pop("", "").splitlines() if not line.startswith("POT-")}
    differing = sorted(fresh_header ^ committed_header)
    differing += sorted(str(key) for key in fresh_catalogue.keys() ^ committed_catalogue.keys())
    differing += sorted(
        str(key)
        for key in fresh_catalogue.keys() & committed_catalogue.keys()
        if fresh_catalogue[key] != committed_catalogue[key]
    )
    assert not differing, f"{po.with_suffix('.mo').name} is stale (run `make messages`): {differing[:10]}"


def test_admin_javascript_words_are_all_translated():
    """Every gettext() of the admin's JavaScript reads in Chinese through the catalogue the admin's jsi18n serves
    (Django's, with ours merged over it)."""
    import django.contrib.admin
    from django.views.i18n import JavaScriptCatalog

    scripts = Path(django.contrib.admin.__file__).parent / "static" / "admin" / "js"
    call = re.compile(r"""\bn?gettext\(\s*(['"])((?:\\.|(?!\1).)*)\1""")
    words = {
        match.group(2).replace('\\"', '"').replace("\\'", "'")
        for script in scripts.rglob("*.js")
        if "vendor" not in script.parts
        for match in call.finditer(script.read_text(encoding="utf-8"))
    }
    assert len(words) > 40
    view = JavaScriptCatalog(packages=["django.contrib.admin"])
    with translation.override("zh-hans"):
        view.translation = translation.trans_real.DjangoTranslation(
            "zh-hans", domain="djangojs", localedirs=view.get_paths(view.packages)
        )
        catalogue = view.get_catalog()
    untranslated = sorted(word for word in words if _has_words(word) and word not in catalogue)
    assert not untranslated, f"admin JavaScript words without Chinese (add them to {JS_PO.name}): {untranslated}"


def _has_words(msgid: str) -> bool:
    """Whether a msgid has letters a person reads, once placeholders are taken out."""
    bare = re.sub(r"%\([^)]*\)[sdf]|%[sd]|\{[^}]*\}|<[^>]*>", "", msgid)
    return re.search(r"[A-Za-z]{2,}", bare) is not None


def test_admin_theme_words_are_all_translated(gettext_tools, tmp_path):
    """Every word in the admin theme's templates and code reads in Chinese, whichever catalogue translates it."""
    import unfold

    # makemessages runs in a directory holding a copy of the theme's package and a locale directory of its own,
    # so it writes there and never into the project's catalogue.
    root = tmp_path / "theme"
    shutil.copytree(
        Path(unfold.__file__).parent, root / "unfold", ignore=shutil.ignore_patterns("__pycache__", "static")
    )
    (root / "locale").mkdir()
    _makemessages(root, {"PYTHONPATH": str(settings.BASE_DIR)})
    theme = polib.pofile(str(root / "locale" / LOCALE / "LC_MESSAGES" / "django.po"))
    untranslated = []
    with translation.override("zh-hans"):
        for entry in theme:
            if not _has_words(entry.msgid):
                continue
            if entry.msgid_plural:
                shown = translation.ngettext(entry.msgid, entry.msgid_plural, 1)
            elif entry.msgctxt:
                shown = translation.pgettext(entry.msgctxt, entry.msgid)
            else:
                shown = translation.gettext(entry.msgid)
            if shown == entry.msgid:
                untranslated.append(entry.msgid)
    assert not untranslated, (
        f"{len(untranslated)} words of the admin theme have no Chinese; add them to core/admin_theme_strings.py "
        f"and run `make messages`: {untranslated[:20]}"
    )
