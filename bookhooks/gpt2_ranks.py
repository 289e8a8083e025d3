"""Put GPT-2's BPE ranks where `coursekit.language.tokenization.gpt2_encoding` finds them offline.

``tiktoken.get_encoding("gpt2")`` downloads the ranks from OpenAI's blob storage at first use,
which a build must not do. The same file, byte for byte, ships on PyPI inside the sdist of
``openai-whisper`` (``whisper/assets/gpt2.tiktoken``). ``python -m bookhooks.gpt2_ranks DEST``
(run by ``make install``) looks the sdist up in the package index's simple API (PEP 691 JSON),
downloads it, checks its sha256 against the index and against the hash pinned here, and writes
only that one file to ``DEST``, after checking its sha256 too. Nothing of the sdist is built or
run: ``pip download`` would prepare its metadata, which runs its ``setup.py``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import tarfile
import urllib.request
from pathlib import Path

INDEX = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple").rstrip("/")
PROJECT, SDIST = "openai-whisper", "openai_whisper-20250625.tar.gz"
SDIST_SHA256 = "37a91a3921809d9f44748ffc73c0a55c9f366c85a3ef5c2ae0cc09540432eb96"
MEMBER = "openai_whisper-20250625/whisper/assets/gpt2.tiktoken"
# tiktoken's own pin for these ranks (r50k_base in tiktoken_ext/openai_public.py)
RANKS_SHA256 = "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930"


def _get(url: str, accept: str | None = None) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(request, timeout=180) as response:
        return response.read()


def sdist_url(index: str = INDEX) -> str:
    """The download address of the pinned sdist, as the index's simple API lists it."""
    page = json.loads(_get(f"{index}/{PROJECT}/", "application/vnd.pypi.simple.v1+json"))
    for entry in page["files"]:
        if entry["filename"] == SDIST:
            if entry["hashes"].get("sha256") != SDIST_SHA256:
                raise RuntimeError(f"{SDIST}: the index lists sha256 "
                                   f"{entry['hashes'].get('sha256')}, expected {SDIST_SHA256}")
            return urllib.request.urljoin(f"{index}/{PROJECT}/", entry["url"])
    raise RuntimeError(f"{SDIST} is not listed at {index}/{PROJECT}/")


def extract(sdist: bytes) -> bytes:
    """The ranks file out of the sdist's bytes, both checked against their pinned sha256."""
    if hashlib.sha256(sdist).hexdigest() != SDIST_SHA256:
        raise RuntimeError(f"{SDIST}: sha256 differs from the pinned {SDIST_SHA256}")
    with tarfile.open(fileobj=io.BytesIO(sdist), mode="r:gz") as archive:
        member = archive.extractfile(MEMBER)
        if member is None:
            raise RuntimeError(f"{MEMBER} is not a file in {SDIST}")
        ranks = member.read()
    if hashlib.sha256(ranks).hexdigest() != RANKS_SHA256:
        raise RuntimeError(f"{MEMBER}: sha256 differs from the pinned {RANKS_SHA256}")
    return ranks


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m bookhooks.gpt2_ranks DEST", file=sys.stderr)
        return 2
    dest = Path(args[0])
    ranks = extract(_get(sdist_url()))
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    partial.write_bytes(ranks)
    partial.replace(dest)  # a crash never leaves a truncated file under the final name
    print(f"wrote {dest} ({len(ranks):,} bytes, sha256 {RANKS_SHA256[:12]}...)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
