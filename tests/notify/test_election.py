"""One sender among many: the holder of the store's notifier lease (an flock beside the file store; a Postgres session
lock)."""

from __future__ import annotations

import os

import pytest

from autosig.config import ConfigError, load_settings
from autosig.events import open_store
from autosig.notify.election import StoreElection


def FileElection(log_dir):  # noqa: N802 - reads like the class it stands for
    return StoreElection(lambda: open_store(f"file:{log_dir}", fsync=False))


def PostgresElection(url):  # noqa: N802
    return StoreElection(lambda: open_store(url, fsync=False))


def test_file_election_one_holder_and_takeover(log_dir):
    a, b = FileElection(log_dir), FileElection(log_dir)
    assert a.try_acquire() and a.try_acquire()
    assert not b.try_acquire()
    a.release()
    assert b.try_acquire() and not a.try_acquire()
    b.release()


def test_file_election_holder_dies_and_the_lock_is_free(log_dir):
    a = FileElection(log_dir)
    pid = os.fork()
    if pid == 0:  # the child holds the election, then dies without releasing it
        ok = FileElection(log_dir).try_acquire()
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert a.try_acquire()  # the kernel dropped the dead holder's flock
    a.release()


def test_a_forked_child_does_not_inherit_the_parents_election(log_dir):
    a = FileElection(log_dir)
    assert a.try_acquire()
    pid = os.fork()
    if pid == 0:
        os._exit(0 if not a.try_acquire() else 1)  # the parent still holds it
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    a.release()


@pytest.mark.pg
def test_postgres_election_one_holder_and_takeover(pg_url):
    from events.pg_helpers import new_schema_name, with_params

    url = with_params(pg_url, schema=new_schema_name())  # a private lock key: parallel sessions never share it
    a, b = PostgresElection(url), PostgresElection(url)
    try:
        assert a.try_acquire() and a.try_acquire()
        assert not b.try_acquire()
        a.release()  # the session ends: the server drops the lock
        assert b.try_acquire()
    finally:
        a.release()
        b.release()


def test_notify_signals_setting_is_validated():
    assert load_settings({"AUTOSIG_NOTIFY_SIGNALS": "yes"}).notify_signals is True
    assert load_settings({}).notify_signals is False
    with pytest.raises(ConfigError) as err:
        load_settings({"AUTOSIG_NOTIFY_SIGNALS": "maybe"})
    assert err.value.variable == "AUTOSIG_NOTIFY_SIGNALS"
