"""The README's shell blocks, checked the way a reader would follow them, as far as that can be
done offline: each `python -m MODULE` answers `--help`, each `make TARGET` exists, each path
in the repository it names exists, and each other program is installed by the project or
listed among the prerequisites."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()

# Shell words that are no program of their own.
SHELL_BUILTINS = {"cd", "export", "source", ".", "set", "echo", "true", "false", "test", "["}
# Folders made by the commands themselves, never part of a clone.
GENERATED = {"build", ".aws-sam", ".venv"}


def shell_commands(markdown: str) -> list[list[str]]:
    """Each simple command of every ```bash block, as words (comments, `\\` joins and
    `$(...)` substitutions resolved the way a shell would read them)."""
    commands = []
    for block in re.findall(r"```(?:bash|sh|shell)\n(.*?)```", markdown, flags=re.DOTALL):
        text = block.replace("\\\n", " ")
        for substitution in re.findall(r"\$\(([^()]*(?:\([^()]*\)[^()]*)*)\)", text):
            text = text.replace(f"$({substitution})", "SUBSTITUTED")
            text += "\n" + substitution
        for line in text.splitlines():
            lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
            lexer.whitespace_split, lexer.commenters = True, "#"
            command: list[str] = []
            for word in lexer:
                if word in {"&&", "||", "|", ";", "&"}:
                    commands.append(command)
                    command = []
                else:
                    command.append(word)
            commands.append(command)
    return [_without_assignments(command) for command in commands if _without_assignments(command)]


def _without_assignments(command: list[str]) -> list[str]:
    """The command after its leading `NAME=value` environment assignments."""
    while command and re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", command[0]):
        command = command[1:]
    return command


def prerequisites(markdown: str) -> set[str]:
    """The programs the README's "Prerequisites" paragraph asks a reader to have."""
    paragraph = re.search(r"^Prerequisites:(.*?)\n\n", markdown, flags=re.MULTILINE | re.DOTALL)
    assert paragraph, "the README has no 'Prerequisites:' paragraph"
    return set(re.findall(r"`([\w.-]+)`", paragraph.group(1)))


def make_targets() -> set[str]:
    makefile = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([\w.-]+):", makefile, flags=re.MULTILINE))


def repository_paths(markdown: str) -> set[str]:
    """Words of the README that name a file or folder under one of the repository's own
    top-level entries (placeholders such as `<name>` and generated folders left out)."""
    tracked = {path.name for path in ROOT.iterdir() if not path.name.startswith(".")} - GENERATED
    words = re.findall(r"[\w.-]+(?:/[\w.*<>{},-]*)+", markdown) + re.findall(
        r"`([\w.-]+)`", markdown
    )
    return {
        word.rstrip(".,")
        for word in words
        if word.split("/")[0] in tracked and not re.search(r"[<>{}]", word)
    }


COMMANDS = shell_commands(README)
MODULES = sorted({command[command.index("-m") + 1] for command in COMMANDS if "-m" in command[:-1]})


def test_the_readme_has_shell_blocks_to_check():
    assert len(COMMANDS) > 10 and MODULES


@pytest.mark.parametrize("module", MODULES)
def test_each_python_module_answers_help(module):
    result = subprocess.run(
        [sys.executable, "-m", module, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage:" in result.stdout


def test_each_make_target_exists():
    named = {word for command in COMMANDS if command[0] == "make" for word in command[1:]}
    targets = {word for word in named if not word.startswith("-") and "=" not in word}

    assert targets - make_targets() == set()


def test_each_program_is_installed_by_the_project_or_a_prerequisite():
    listed = prerequisites(README)
    for command in COMMANDS:
        program = command[0]
        if program in SHELL_BUILTINS or program == "make":
            continue
        if program.startswith(".venv/bin/"):
            assert (ROOT / program).exists(), f"{program} is not installed by `make`"
        else:
            assert program in listed, f"'{program}' is neither installed nor a prerequisite"


def test_each_repository_path_exists():
    named = repository_paths(README)
    missing = {path for path in named if not any(ROOT.glob(path.rstrip("/")))}

    assert named and missing == set()


def test_the_checker_reads_commands_as_a_shell_would():
    markdown = (
        "```bash\n"
        'X=1 .venv/bin/python -m a.b --c "d e"  # comment\n'
        "make f && aws g \\\n  --h \"$(aws i --j 'k')\"\n"
        "```\n"
    )

    assert shell_commands(markdown) == [
        [".venv/bin/python", "-m", "a.b", "--c", "d e"],
        ["make", "f"],
        ["aws", "g", "--h", "SUBSTITUTED"],
        ["aws", "i", "--j", "k"],
    ]
