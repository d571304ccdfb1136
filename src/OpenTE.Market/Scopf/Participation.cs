using OpenTE.Grid.Model;
using OpenTE.Grid.PowerFlow;
using OpenTE.Market.DcOpf;

namespace OpenTE.Market.Scopf;

/// <summary>Who picks up a lost generator's output in the SCOPF.</summary>
public enum PickupRule
{
    /// <summary>
    /// Units that can respond, by their response capability cap_j = min(Pmax − Pmin, 30-minute ramp), fixed units
    /// excluded, each within its headroom and ramp through the compact reserve rows (docs/scopf.md).
    /// </summary>
    Reserve,
    /// <summary>
    /// The old shortcut, kept only to compare against (bench): every other in-service unit in proportion to Pmax,
    /// fixed units included, headroom and ramp not checked.
    /// </summary>
    ProportionalToPmax,
}

/// <summary>
/// The participation of generators in picking up a lost unit's output (issue #16), in MW:
/// <code>
/// cap_j  = min(Pmax_j − Pmin_j, ramp_j)           ramp over 30 minutes: RAMP_30, else 3·RAMP_10, else unlimited;
///                                                   0 for fixed units (Pmin = Pmax), units out of service or on dead buses
/// ᾱ_j    = cap_j / (C − max_{k∈K, k≠j} cap_k)     C = Σ_j cap_j, K = units whose outage is a contingency
/// s_jk   = cap_j / (C − cap_k)   (j ≠ k)           share of unit j in picking up the output of lost unit k
/// </code>
/// s_jk ≤ ᾱ_j for every k ≠ j, so the compact reserve rows R ≥ Pg_k, Pg_j + ᾱ_j·R ≤ Pmax_j and ᾱ_j·R ≤ cap_j
/// guarantee that every unit's pick-up after any single outage stays within its headroom and its ramp.
/// </summary>
public sealed class Participation
{
    /// <summary>Hours within which a lost unit's output is picked up (30 minutes, the corrective re-dispatch horizon too).</summary>
    public const double PickupHours = 0.5;

    private readonly Network _net;
    private readonly double[] _cap;
    private readonly double[] _alpha;
    private readonly double _total;
    private readonly PickupRule _rule;
    private readonly Dictionary<int, List<(int Generator, double Share)>> _pickup = [];

    /// <summary>Response capability cap_j (MW) per generator; 0 for a unit that does not respond.</summary>
    public IReadOnlyList<double> CapMw => _cap;
    /// <summary>ᾱ_j per generator: its share of the reserve R it must hold as headroom.</summary>
    public IReadOnlyList<double> Alpha => _alpha;
    /// <summary>The largest R the ramps allow: min_j cap_j / ᾱ_j (MW).</summary>
    public double MaxReserveMw { get; }
    public PickupRule Rule => _rule;

    public Participation(Network net, IEnumerable<int> lostUnits, PickupRule rule = PickupRule.Reserve)
        : this(net, new DcNetwork(net), lostUnits, rule) { }

    internal Participation(Network net, DcNetwork dc, IEnumerable<int> lostUnits, PickupRule rule)
    {
        _net = net;
        _rule = rule;
        int ng = net.Generators.Length;
        _cap = new double[ng];
        _alpha = new double[ng];
        for (int j = 0; j < ng; j++)
        {
            var gen = net.Generators[j];
            if (!gen.InService || dc.Dead[net.BusIndex[gen.Bus]]) continue;
            _cap[j] = rule == PickupRule.ProportionalToPmax ? Math.Max(gen.Pmax, 0) : Ramps.Limit(gen, PickupHours, null);
            if (!(_cap[j] > 1e-9)) _cap[j] = 0;
        }
        _total = _cap.Sum();
        // the two largest capabilities among the units whose outage is a contingency: "the largest other" of each unit
        int first = -1, second = -1;
        foreach (int k in lostUnits.Distinct())
        {
            if (k < 0 || k >= ng || _cap[k] <= 0) continue;
            if (first < 0 || _cap[k] > _cap[first]) { second = first; first = k; }
            else if (second < 0 || _cap[k] > _cap[second]) second = k;
        }
        double maxReserve = double.PositiveInfinity;
        for (int j = 0; j < ng; j++)
        {
            if (_cap[j] <= 0) continue;
            int other = j == first ? second : first;
            double d = _total - (other >= 0 ? _cap[other] : 0); // ≥ cap_j > 0
            _alpha[j] = _cap[j] / d;
            maxReserve = Math.Min(maxReserve, d); // ᾱ_j·R ≤ cap_j
        }
        MaxReserveMw = maxReserve;
    }

    /// <summary>
    /// Where the output of lost unit k goes: the responding units j ≠ k with shares s_jk = cap_j / (C − cap_k), summing
    /// to 1 (empty when no other unit can respond; the reference bus then balances the loss).
    /// </summary>
    public IReadOnlyList<(int Generator, double Share)> Pickup(int k)
    {
        if (_pickup.TryGetValue(k, out var list)) return list;
        list = [];
        double rest = _total - (k >= 0 && k < _cap.Length ? _cap[k] : 0);
        if (rest > 1e-9)
            for (int j = 0; j < _cap.Length; j++)
                if (j != k && _cap[j] > 0) list.Add((j, _cap[j] / rest));
        _pickup[k] = list;
        return list;
    }

    /// <summary>The bound a direction's headroom row keeps (p.u.): Pmax for picking up (+1), −Pmin for backing down (−1).</summary>
    internal double Bound(int j, int dir) => dir > 0 ? _net.Generators[j].Pmax / _net.BaseMva : -_net.Generators[j].Pmin / _net.BaseMva;
}
