"""The example bot with --journal: it knows its positions from the SDK's order journal."""

from __future__ import annotations

from pathlib import Path

from capitalcom_sdk import Client
from capitalcom_sdk.trading import OrderJournal, Safety
from tests.conftest import SimHandle
from tests.examples.test_examples import _crossing_path, _load, _move_clock, _open_deal_ids


def test_a_restarted_bot_knows_its_positions_from_the_journal(
    sim: SimHandle, tmp_path: Path
) -> None:
    bot = _load("ma_crossover")
    _crossing_path(sim)
    with Client(**sim.client_kwargs()) as by_hand_client:
        by_hand = set(by_hand_client.positions.open("GOLD", "BUY", 1).opened_deal_ids)
    journal = OrderJournal(tmp_path)
    with Client(**sim.client_kwargs(), safety=Safety(journal=journal)) as client:
        account = client.session.details().account_id
        first = bot.Settings(epic="GOLD", fast=3, slow=8, iterations=8, keep_positions=True)
        report = bot.Bot(
            client, first, sleep=_move_clock(sim), owned=bot.JournalDeals(journal, account, "GOLD")
        ).run(interval=60)
        assert report.signals == ["BUY"]
        (held,) = report.opened
    # a new process: a fresh journal object on the same files, a fresh client and Bot
    journal = OrderJournal(tmp_path)
    with Client(**sim.client_kwargs(), safety=Safety(journal=journal)) as client:
        assert client.reconcile_pending() == []
        second = bot.Settings(epic="GOLD", fast=3, slow=8, iterations=2)
        restarted = bot.Bot(
            client, second, sleep=_move_clock(sim), owned=bot.JournalDeals(journal, account, "GOLD")
        )
        assert restarted.my_positions() == {held: "BUY"}  # the hand-opened BUY is not its own
        report = restarted.run(interval=60)
        assert report.closed == [held]
        assert _open_deal_ids(client) == by_hand
    assert bot.JournalDeals(OrderJournal(tmp_path), account, "GOLD").ids == []
