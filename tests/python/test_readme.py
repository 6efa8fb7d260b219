"""The README's Python example, run as it is written: the log it writes reads back exactly
with `enclog decrypt`, the traceback included, and holds nothing of it in clear."""

import re
import subprocess
import sys

import helpers


def readme_example():
    """The first ```python block of the README's "From Python" section."""
    readme = (helpers.ROOT / "README.md").read_text()
    section = readme.split("\n## From Python\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```python\n", 1)[1].split("```", 1)[0]


def run(folder, code):
    """Runs `code` as the program example.py in `folder`; returns its path."""
    example = folder / "example.py"
    example.write_text(code)
    result = subprocess.run([sys.executable, str(example)], cwd=folder, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return example


def test_the_readme_python_example_writes_a_log_enclog_decrypt_reads_back(tmp_path, key_file):
    _, key_path = key_file
    example = readme_example()
    (tmp_path / "app.key").write_bytes(key_path.read_bytes())
    (tmp_path / "app.key").chmod(0o600)
    run(tmp_path, example)
    # The same program with logging's own plain file instead of init_file, from the same
    # path (tracebacks name it): what decrypt must print.
    setup = 'enclog.init_file("app.log", enclog.Key.from_file("app.key"))'
    assert setup in example
    plain = example.replace(setup, "logging.basicConfig(filename='plain.log', level=logging.INFO, "
                                   "format=enclog._logging.DEFAULT_FORMAT)")
    (tmp_path / "app.log").rename(tmp_path / "sealed.log")
    run(tmp_path, plain)

    log = (tmp_path / "sealed.log").read_bytes()
    for clear in (b"alice@example.com", b"Traceback", b"KeyError", b"card", b"payment"):
        assert clear not in log
    stamp = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ", re.M)
    shown = stamp.sub("TIME ", helpers.decrypt(key_path, tmp_path / "sealed.log"))
    expected = stamp.sub("TIME ", (tmp_path / "plain.log").read_text())
    assert shown == expected
    assert "Traceback (most recent call last):" in shown and "KeyError: 'card'" in shown
    result = helpers.verify(key_path, tmp_path / "sealed.log")
    assert result.returncode == 0, result.stdout
