"""Instrument maths checked against the simulator's own P&L and margin of open positions."""

from __future__ import annotations

import pytest

from capitalcom_sdk import Client
from capitalcom_sdk.trading import MarketRules, maths
from tests.conftest import SimHandle

# (epic, direction, size): USD, EUR, JPY and GBP instruments on a USD account
DEALS = [
    ("BTCUSD", "BUY", 0.01),
    ("DE40", "SELL", 0.3),
    ("J225", "BUY", 0.2),
    ("UK100", "BUY", 0.1),
    ("EURUSD", "SELL", 1000),
]


def test_pnl_and_margin_match_the_simulators_accounting(sim: SimHandle) -> None:
    client = Client(**sim.client_kwargs(), rate_limit=False)
    account = client.session.details()
    for epic, direction, size in DEALS:
        client.positions.open(epic, direction, size)
    state = sim.state
    engine_account = state.engine.accounts[account.account_id]
    now = state.clock.now_ms()
    for entry in client.positions.list().positions:
        position = entry.position
        assert entry.market is not None
        details = client.markets.get(entry.market.epic)
        rules = MarketRules.from_details(details)
        currency = details.instrument.currency or account.currency
        fx = client._transport.run(maths.fx_rate_flow(currency, account.currency))
        price = rules.closing_price(str(position.direction.value))
        assert price is not None
        expected_pnl = maths.pnl(
            str(position.direction.value), position.size, position.level, price, fx
        )
        assert position.upl == pytest.approx(expected_pnl, rel=1e-5, abs=0.01)
        assert details.instrument.margin_factor is not None
        expected_margin = maths.margin(position.size, price, details.instrument.margin_factor, fx)
        sim_position = engine_account.positions[position.deal_id]
        sim_margin = state.engine.money.margin(engine_account, sim_position, now)
        assert expected_margin == pytest.approx(sim_margin, rel=1e-5)


def test_margin_factor_from_the_leverage_preference(sim: SimHandle) -> None:
    client = Client(**sim.client_kwargs(), rate_limit=False)
    preferences = client.accounts.preferences()
    for epic in ("BTCUSD", "DE40", "AAPL", "EURUSD"):
        details = client.markets.get(epic)
        group = details.instrument.type
        assert group is not None
        chosen = preferences.leverages[group].current  # type: ignore[index]
        inst = sim.state.engine.instruments.require(epic)
        expected = maths.effective_margin_factor(inst.margin_factor, chosen)
        assert details.instrument.margin_factor == pytest.approx(expected)


def test_sizes_points_and_pips(sim: SimHandle) -> None:
    client = Client(**sim.client_kwargs(), rate_limit=False)
    rules = MarketRules.from_details(client.markets.get("EURUSD"))
    summary = client.markets.search("EURUSD")
    assert maths.tick_size(rules) == pytest.approx(0.00001)
    pip_position = next(m.pip_position for m in summary.markets or [] if m.epic == "EURUSD")
    assert pip_position is not None
    assert maths.pip_size(pip_position) == pytest.approx(0.0001)
    assert maths.pip_value(pip_position, fx=0.9) == pytest.approx(0.00009)
    # risk 1% of 10 000 with a stop 0.002 away: 50 000 units, on the increment of 1
    assert maths.size_for_risk(rules, 10_000, 0.01, 0.002) == 50_000
    assert maths.size_for_risk(rules, 10_000, 0.01, 0.0015) == 66_666
    with pytest.raises(ValueError, match="below the minimum size"):
        maths.size_for_risk(rules, 100, 0.001, 0.01)
