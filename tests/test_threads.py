"""Clones of one context used from many threads at once: no lost write, no exception."""

from __future__ import annotations

import threading
import time

THREADS = 8
SECONDS = 1.5  # per implementation
KEYS = 32  # keys per thread, rewritten in turn


def test_threads_share_clones(wc_class: type) -> None:
    root = wc_class({"count": 3}, {"greeting": "hi"})
    root.set_task_result("seed", {"hosts": ["x", "y", "z"]})
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []
    written: list[dict[str, int]] = [{} for _ in range(THREADS)]
    iterations = [0] * THREADS
    deadline: list[float] = []

    def work(t: int) -> None:
        mine = written[t]
        item = {"host": f"h{t}", "var": f"t{t}_cur", "task": f"t{t}_cur"}
        try:
            barrier.wait()
            if t == 0:
                deadline.append(time.monotonic() + SECONDS)
            barrier.wait()
            end = deadline[0]
            view = root.with_item(item, t)
            i = 0
            while time.monotonic() < end:
                key = f"t{t}_k{i % KEYS}"
                view.set_var(key, i)
                view.set_task_result(key, {"i": i, "t": t})
                view.set_var(item["var"], i)
                view.set_task_result(item["task"], {"i": i, "tag": item["host"]})
                mine[key] = i
                assert view.get_var(key) == i
                assert view.get_task_result(key) == {"i": i, "t": t}
                # Fast path.
                assert view.render_template("{{ item.host }}#{{ index }}") == f"h{t}#{t}"
                assert view.render_template("{{ task.seed.hosts[-1] }}{{ greeting }}") == "zhi"
                # Jinja2 path: filters, loops, computed keys.
                assert view.render_template(
                    "{{ item.host | upper }}:{{ vars[item.var] }}:"
                    "{% for n in range(parameters.count) %}{{ task[item.task].i }}{% endfor %}"
                ) == f"H{t}:{i}:{i}{i}{i}"
                assert view.render_json({"v": "{{ vars[item.var] }}", "h": "{{ item.host }}"}) \
                    == {"v": i, "h": f"h{t}"}
                assert view.evaluate_condition("task[item.task].tag == item.host")
                if i % 16 == 0:  # a fresh clone now and then, from another clone
                    view = view.clone().with_item(item, t)
                i += 1
            iterations[t] = i
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=SECONDS + 30)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == [], errors[:3]
    assert all(count > 0 for count in iterations), iterations
    for t, mine in enumerate(written):
        for key, value in mine.items():
            assert root.get_var(key) == value, (t, key)
            assert root.get_task_result(key) == {"i": value, "t": t}, (t, key)
        assert root.get_var(f"t{t}_cur") == iterations[t] - 1
    # Nothing else was written, nothing was lost: per thread its keys and its "cur" key.
    assert len(root.variables) == 1 + sum(len(mine) + 1 for mine in written)
    assert len(root.task_results) == 1 + sum(len(mine) + 1 for mine in written)
