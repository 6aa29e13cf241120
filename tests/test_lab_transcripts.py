"""Every transcript in the lab's texts (lab/NN-*.md) matches what the tools
print today, with only the marked parts (`...`, `<VAR>`) allowed to differ;
and the lab has the exercises and bug hunts its README lists."""
import concurrent.futures
import re
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "lab"))
import transcript  # noqa: E402

TEXTS = sorted((ROOT / "lab").glob("[0-9][0-9]-*.md"))
BLOCKS = [b for path in TEXTS for b in transcript.blocks(path)]


@pytest.fixture(scope="module")
def printed(image, tmp_path_factory):
    """Run every block once, a few at a time (each is its own QEMU/GDB or
    shell session; variants build into directories of their own)."""
    tmp = tmp_path_factory.mktemp("transcripts")
    transcript.prepare(BLOCKS, tmp)
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        return dict(zip(map(str, BLOCKS), pool.map(
            lambda b: transcript.run(b, transcript.build_dir_for(b, tmp)), BLOCKS)))


@pytest.mark.parametrize("block", BLOCKS, ids=str)
def test_transcript_is_current(block, printed):
    actual = printed[str(block)]
    assert transcript.matches(block.text, actual), \
        f"{block}: rerun and update the text\n{transcript.diff(block.text, actual)}"


def test_lab_shape():
    numbers = [int(p.name[:2]) for p in TEXTS]
    assert numbers == list(range(1, len(TEXTS) + 1)), "exercises numbered 01, 02, ... without gaps"
    bugs = [p for p in TEXTS if "-bug-" in p.name]
    assert len(TEXTS) - len(bugs) >= 12 and len(bugs) >= 5
    readme = (ROOT / "lab/README.md").read_text()
    for path in TEXTS:
        text = path.read_text()
        assert path.name in readme, f"lab/README.md does not list {path.name}"
        for heading in ("## Steps", "## Questions"):
            assert heading in text, f"{path.name} lacks {heading}"
        assert transcript.blocks(path), f"{path.name} has no checked transcript"
    for path in bugs:
        name = re.search(r"BUG=([a-z0-9-]+)", path.read_text()).group(1)
        assert f"BUG={name}" in readme
