"""Batching for cluster scans and --output-dir: names that survive a rerun, sizes, part files."""

from __future__ import annotations

from quantlint.scan_batches import OutputDir, error_rows, iter_batches
from quantlint.targets import Target


def listing(n: int, skip: int | None = None, extra: int | None = None) -> list[Target]:
    out = []
    for i in range(n):
        if i == skip:
            continue
        out.append(Target(display=f"org/Repo{i // 7}:m{i}.gguf", kind="remote", path=f"m{i}.gguf",
                          extra={"repo": f"org/Repo{i // 7}", "revision": "a" * 40, "mode": "gguf"}))
        if i == extra:
            out.append(Target(display=f"org/Repo{i // 7}:new.gguf", kind="remote", path="new.gguf",
                              extra={"repo": f"org/Repo{i // 7}", "revision": "a" * 40, "mode": "gguf"}))
    return out


def test_batches_keep_every_target_in_order_within_bounds():
    targets = listing(5000)
    batches = list(iter_batches(targets, 100, "fp"))
    assert [t.display for b in batches for t in b.targets] == [t.display for t in targets]
    assert all(len(b.targets) <= 200 for b in batches)
    assert all(len(b.targets) >= 25 for b in batches[:-1])
    assert 30 <= len(batches) <= 80  # about 5000 / 100
    assert len({b.id for b in batches}) == len(batches)


def test_a_changed_listing_renames_only_the_batches_it_touches():
    before = {b.id for b in iter_batches(listing(5000), 100, "fp")}
    for changed in (listing(5000, extra=30), listing(5000, skip=30)):
        after = {b.id for b in iter_batches(changed, 100, "fp")}
        assert len(after - before) <= 2  # position-filled batches would all be renamed
    assert not before & {b.id for b in iter_batches(listing(5000), 100, "other settings")}


def test_part_files_are_whole_and_a_failed_batch_is_not_finished(tmp_path):
    out = OutputDir(str(tmp_path / "out"))
    batch = next(iter_batches(listing(10), 100, "fp"))
    out.write(batch.id, error_rows(batch, "worker died"), failed=True)
    assert not out.finished(batch.id)
    rows = [{"target": t.display, "findings": []} for t in batch.targets]
    out.write(batch.id, rows)
    assert out.finished(batch.id) and list(out.read(batch.id)) == rows
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"part-{batch.id}.jsonl"]  # no temp, no failed
