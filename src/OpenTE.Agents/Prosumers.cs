using OpenTE.Market.Bids;
using OpenTE.Market.MultiPeriod;

namespace OpenTE.Agents;

/// <summary>What an agent sees when it bids: the interval, its length, and the price forecast for the rest of the day.</summary>
public sealed record MarketView(int Interval, double StepHours, IReadOnlyList<double> Forecast, double ValueOfLostLoad)
{
    public int Intervals => Forecast.Count;
}

/// <summary>
/// A participant that bids from its own state and learns what it got. Bids carry the agent's id as participant;
/// <see cref="Apply"/> receives the net MW it delivered (+) or took (−) in the interval and the price at its bus.
/// </summary>
public abstract class Prosumer(string id, int bus)
{
    public string Id { get; } = id;
    public int Bus { get; } = bus;
    /// <summary>Bids of a critical load are served first in an islanded microgrid.</summary>
    public virtual bool Critical => false;
    public abstract IEnumerable<Bid> Bids(MarketView view);
    public virtual void Apply(MarketView view, double netMw, double price) { }

    protected Bid Buy(double price, double mw, int block = 1) => new(Id, Bus, Side.Buy, price, mw, block, 0);
    protected Bid Sell(double price, double mw, int block = 1) => new(Id, Bus, Side.Sell, price, mw, block, 0);
}

/// <summary>Rooftop PV: offers what the sun gives at 0 $/MWh (curtailable). Irradiance profile per interval in [0, 1].</summary>
public sealed class PvAgent(string id, int bus, double peakMw, IReadOnlyList<double> irradiance) : Prosumer(id, bus)
{
    public double PeakMw { get; } = peakMw;
    public override IEnumerable<Bid> Bids(MarketView view)
    {
        double mw = PeakMw * irradiance[view.Interval];
        if (mw > 1e-9) yield return Sell(0, mw);
    }
}

/// <summary>
/// A battery. At the start it plans the day against the price forecast (a price-taker LP) and keeps the value
/// ν_t of stored energy; in each interval it offers to discharge at ν_t/η_d and to charge at η_c·ν_t — its
/// opportunity cost — for what its state of charge allows. The state of charge follows what it is dispatched.
/// </summary>
public sealed class BatteryAgent(string id, StorageUnit unit) : Prosumer(id, unit.Bus)
{
    public StorageUnit Unit { get; } = unit;
    public double SocMwh { get; private set; } = unit.InitialMwh;
    private double[]? _value;

    public override IEnumerable<Bid> Bids(MarketView view)
    {
        _value ??= StorageArbitrage.Optimize(view.Forecast, view.StepHours, Unit).EnergyValue;
        double nu = _value[view.Interval], dt = view.StepHours;
        double sell = Math.Min(Unit.DischargeMaxMw, (SocMwh - Unit.EnergyMinMwh) * Unit.EtaDischarge / dt);
        double buy = Math.Min(Unit.ChargeMaxMw, (Unit.EnergyMaxMwh - SocMwh) / (Unit.EtaCharge * dt));
        if (sell > 1e-9) yield return Sell(Math.Max(nu / Unit.EtaDischarge, 0), sell);
        if (buy > 1e-9) yield return Buy(Math.Max(nu * Unit.EtaCharge, 0), buy);
    }

    public override void Apply(MarketView view, double netMw, double price)
    {
        double dt = view.StepHours;
        SocMwh += netMw >= 0 ? -netMw * dt / Unit.EtaDischarge : -netMw * dt * Unit.EtaCharge;
        SocMwh = Math.Clamp(SocMwh, Unit.EnergyMinMwh, Unit.EnergyMaxMwh); // rounding only
    }
}

/// <summary>
/// Energy that must be delivered within a window (an electric vehicle between arrival and departure, a shiftable
/// load between its window's ends). It buys in the cheapest forecast intervals of the window at up to
/// <paramref name="willingness"/>, and at <c>urgentPrice</c> once the remaining time is just enough.
/// </summary>
public class ShiftableAgent(string id, int bus, double energyMwh, double powerMw, int from, int to, double willingness, double urgentPrice) : Prosumer(id, bus)
{
    public double EnergyMwh { get; } = energyMwh;
    public double DeliveredMwh { get; private set; }
    public int From { get; } = from;
    /// <summary>Last interval (exclusive) in which the energy can be taken; may be ≤ From for a window over midnight.</summary>
    public int To { get; } = to;
    public double PowerMw { get; } = powerMw;

    public bool Present(int t, int intervals) => From <= To ? t >= From && t < To : t >= From || t < To;

    private int RemainingSlots(int t, int intervals)
    {
        int n = 0;
        for (int k = t; k < intervals && Present(k, intervals); k++) n++;
        return n;
    }

    public override IEnumerable<Bid> Bids(MarketView view)
    {
        int t = view.Interval, T = view.Intervals;
        double need = EnergyMwh - DeliveredMwh, dt = view.StepHours;
        if (!Present(t, T) || need <= 1e-9) yield break;
        double mw = Math.Min(PowerMw, need / dt);
        int slots = RemainingSlots(t, T);
        if (slots * PowerMw * dt <= need + 1e-9) { yield return Buy(urgentPrice, mw); yield break; }
        // the k cheapest forecast intervals left in the window cover the need: bid up to the k-th cheapest price
        int k = (int)Math.Ceiling(need / (PowerMw * dt) - 1e-9);
        var window = Enumerable.Range(t, slots).Select(i => view.Forecast[i]).Order().ToList();
        double threshold = window[Math.Clamp(k - 1, 0, window.Count - 1)];
        yield return Buy(Math.Min(willingness, threshold), mw);
    }

    public override void Apply(MarketView view, double netMw, double price)
    {
        if (netMw < 0) DeliveredMwh += -netMw * view.StepHours;
    }
}

public sealed class EvAgent(string id, int bus, double energyMwh, double powerMw, int arrival, int departure, double willingness = 150)
    : ShiftableAgent(id, bus, energyMwh, powerMw, arrival, departure, willingness, urgentPrice: 2000);

public sealed class FlexibleLoadAgent(string id, int bus, double energyMwh, double powerMw, int from, int to, double willingness)
    : ShiftableAgent(id, bus, energyMwh, powerMw, from, to, willingness, urgentPrice: 1000);

/// <summary>Load that must be served: bids at the value of lost load and is served first in an islanded microgrid.</summary>
public sealed class CriticalLoadAgent(string id, int bus, double demandMw) : Prosumer(id, bus)
{
    public override bool Critical => true;
    public double DemandMw { get; } = demandMw;
    public override IEnumerable<Bid> Bids(MarketView view) { yield return Buy(view.ValueOfLostLoad, DemandMw); }
}

/// <summary>The rest of a bus's load (the case's Pd × a daily shape): inelastic, at a high price below VoLL.</summary>
public sealed class BaseLoadAgent(string id, int bus, IReadOnlyList<double> demandMw, double price) : Prosumer(id, bus)
{
    public override IEnumerable<Bid> Bids(MarketView view)
    {
        if (demandMw[view.Interval] > 1e-9) yield return Buy(price, demandMw[view.Interval]);
    }
}

/// <summary>A dispatchable source: the substation (grid supply at the wholesale price) or the grid-forming unit.</summary>
public sealed class SourceAgent(string id, int bus, double capacityMw, IReadOnlyList<double> price) : Prosumer(id, bus)
{
    public double CapacityMw { get; } = capacityMw;
    public double PriceAt(int t) => price[t];
    public override IEnumerable<Bid> Bids(MarketView view) { yield return Sell(price[view.Interval], CapacityMw); }
}
