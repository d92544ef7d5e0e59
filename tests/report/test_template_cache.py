"""The templates' compiled code kept between runs (report.template_cache): used only in a
private folder of the user's, never fails a report, never serves code of another source."""

import os

import jinja2
import pytest

from hardencheck.report.template_cache import template_cache

SETTINGS = "trim_blocks=True"


def env_with(cache, templates: dict[str, str]) -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.DictLoader(templates), bytecode_cache=cache, trim_blocks=True)


@pytest.fixture
def compiles(monkeypatch):
    """How many templates jinja compiled from source."""
    count = []
    real = jinja2.Environment.compile

    def counted(self, *a, **k):
        count.append(a[1] if len(a) > 1 else k.get("name"))
        return real(self, *a, **k)

    monkeypatch.setattr(jinja2.Environment, "compile", counted)
    return count


def test_a_second_process_loads_the_compiled_template_instead_of_compiling_it(tmp_path, compiles):
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    src = {"page.html": "{% for x in xs %}<li>{{ x }}</li>{% endfor %}"}
    first = env_with(template_cache(SETTINGS, env), src).get_template("page.html").render(xs=[1, "<b>"])
    assert compiles == ["page.html"]
    folders = list((tmp_path / "hardencheck").iterdir())
    assert len(folders) == 1 and oct(folders[0].stat().st_mode & 0o777) == "0o700"
    assert len(list(folders[0].iterdir())) == 1
    again = env_with(template_cache(SETTINGS, env), src).get_template("page.html").render(xs=[1, "<b>"])
    assert again == first and compiles == ["page.html"]       # loaded, not compiled


def test_an_edited_template_or_other_settings_are_compiled_anew(tmp_path, compiles):
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    env_with(template_cache(SETTINGS, env), {"p": "old {{ x }}"}).get_template("p").render(x=1)
    out = env_with(template_cache(SETTINGS, env), {"p": "new {{ x }}"}).get_template("p").render(x=1)
    assert out == "new 1" and len(compiles) == 2
    env_with(template_cache("trim_blocks=False", env), {"p": "new {{ x }}"}).get_template("p").render(x=1)
    assert len(compiles) == 3
    assert len(list((tmp_path / "hardencheck").iterdir())) == 2     # one folder per settings


def test_a_damaged_entry_is_compiled_again(tmp_path, compiles):
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    src = {"p": "{{ x }}!"}
    env_with(template_cache(SETTINGS, env), src).get_template("p")
    (entry,) = (tmp_path / "hardencheck").glob("*/*.cache")
    entry.write_bytes(entry.read_bytes()[:40])        # cut short: its code cannot be read
    assert env_with(template_cache(SETTINGS, env), src).get_template("p").render(x=2) == "2!"
    assert len(compiles) == 2


def test_a_folder_others_can_write_to_is_not_used(tmp_path):
    (tmp_path / "hardencheck").mkdir(mode=0o700)
    os.chmod(tmp_path / "hardencheck", 0o777)
    assert template_cache(SETTINGS, {"XDG_CACHE_HOME": str(tmp_path)}) is None
    os.chmod(tmp_path / "hardencheck", 0o700)
    assert template_cache(SETTINGS, {"XDG_CACHE_HOME": str(tmp_path)}) is not None


def test_a_folder_of_another_user_is_not_used(tmp_path):
    if os.getuid() != 0:
        pytest.skip("needs root to give the folder away")
    (tmp_path / "hardencheck").mkdir(mode=0o700)
    os.chown(tmp_path / "hardencheck", 65534, 65534)
    assert template_cache(SETTINGS, {"XDG_CACHE_HOME": str(tmp_path)}) is None


def test_no_place_for_a_cache_means_compiling_as_before(tmp_path, compiles):
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    assert template_cache(SETTINGS, {"XDG_CACHE_HOME": str(blocked)}) is None


def test_a_cache_folder_that_cannot_be_written_costs_nothing_but_the_compilation(tmp_path, compiles):
    cache = template_cache(SETTINGS, {"XDG_CACHE_HOME": str(tmp_path)})
    for folder in (tmp_path / "hardencheck").iterdir():
        folder.rmdir()                  # gone under the cache's feet: nothing can be written
    assert env_with(cache, {"p": "{{ x }}"}).get_template("p").render(x=3) == "3"
    assert compiles == ["p"]


def test_no_home_directory_means_no_cache_and_nothing_created_here(tmp_path, monkeypatch):
    from pathlib import Path

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: Path("~")))   # what 3.11 gives without one
    assert template_cache(SETTINGS, {"XDG_CACHE_HOME": "relative/not/allowed"}) is None
    assert template_cache(SETTINGS, {}) is None
    assert list(tmp_path.iterdir()) == []
