using System.Globalization;
using OpenTE.Grid;
using OpenTE.Grid.Model;
using OpenTE.Grid.Input;

namespace OpenTE.Market.AcOpf;

/// <summary>One reactive-power offer block: inject (capacitive) or absorb (inductive) up to <paramref name="QMvar"/> at a price in $/MVArh.</summary>
public sealed record ReactiveBlock(bool Inject, double Price, double QMvar);

/// <summary>
/// An inverter-based DER (PV, battery inverter) at a bus: active output <paramref name="PMw"/> (fixed, a negative
/// load), apparent-power rating <paramref name="SMva"/> (capability P² + Q² ≤ S²), reactive offers as blocks.
/// </summary>
public sealed record Der(string Id, int Bus, double PMw, double SMva, IReadOnlyList<ReactiveBlock> Blocks);

/// <summary>How one DER was dispatched: Q (+ inject) at the bus's λ_Q; payment = λ_Q × Q ($/h).</summary>
public sealed record DerDispatch(string Id, int Bus, double PMw, double QMvar, double CapabilityMvar, double LmpQ, double Payment);

/// <summary>
/// DER offers CSV: header <c>der,bus,p_mw,s_mva,direction,price,q_mvar</c>, one block per row; rows of one DER
/// repeat its bus, P and S. direction is <c>inject</c> or <c>absorb</c>; price in $/MVArh; q_mvar &gt; 0.
/// </summary>
public static class DerFile
{
    private const string Header = "der,bus,p_mw,s_mva,direction,price,q_mvar";

    public static List<Der> Read(string path, Network net) => Parse(InputFiles.ReadText(path), path, net);

    public static List<Der> Parse(string text, string file, Network net)
    {
        var lines = text.Replace("\r\n", "\n").Split('\n');
        if (lines.Length == 0 || lines[0].Trim().ToLowerInvariant().Replace(" ", "") != Header)
            throw new InputException(file, 1, $"the header must be '{Header}'", "put the column names on the first line, in this order");
        var order = new List<string>();
        var byId = new Dictionary<string, (int Line, int Bus, double P, double S, List<ReactiveBlock> Blocks)>();
        for (int n = 1; n < lines.Length; n++)
        {
            string line = lines[n].Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            int ln = n + 1;
            var f = line.Split(',');
            if (f.Length != 7) throw new InputException(file, ln, $"{f.Length} fields instead of 7", $"each row is {Header}");
            string id = f[0].Trim();
            if (id.Length == 0) throw new InputException(file, ln, "der: the DER id is empty", "name the DER in the first column");
            int bus = int.TryParse(f[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var b) ? b
                : throw new InputException(file, ln, $"bus: '{f[1].Trim()}' is not a bus number", "use the bus number of the case file");
            if (!net.BusIndex.TryGetValue(bus, out int bi) || net.Buses[bi].Type == BusType.Isolated)
                throw new InputException(file, ln, $"bus: {bus} is not an energised bus of {net.Name}", "use a bus number from the case's bus table");
            double Num(int k, string name)
            {
                if (!double.TryParse(f[k], NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
                    throw new InputException(file, ln, $"{name}: '{f[k].Trim()}' is not a finite number", $"write {name} as a plain number");
                return v;
            }
            double p = Num(2, "p_mw"), s = Num(3, "s_mva"), price = Num(5, "price"), q = Num(6, "q_mvar");
            if (p < 0) throw new InputException(file, ln, $"p_mw: {p} is negative", "give the DER's active output in MW (≥ 0)");
            if (!(s > 0)) throw new InputException(file, ln, $"s_mva: {s} must be positive", "give the inverter's apparent-power rating in MVA");
            if (p > s) throw new InputException(file, ln, $"p_mw {p} is above s_mva {s}", "an inverter cannot deliver more than its rating");
            if (!(q > 0)) throw new InputException(file, ln, $"q_mvar: {q} must be positive", "offer a positive block size; the direction column gives the sign");
            if (q > s) throw new InputException(file, ln, $"q_mvar {q} is above s_mva {s}", "a block cannot exceed the inverter's rating");
            string dir = f[4].Trim().ToLowerInvariant();
            if (dir is not ("inject" or "absorb")) throw new InputException(file, ln, $"direction: '{f[4].Trim()}' is not inject or absorb", "write inject (capacitive) or absorb (inductive)");
            if (byId.TryGetValue(id, out var der))
            {
                if (der.Bus != bus || der.P != p || der.S != s)
                    throw new InputException(file, ln, $"DER {id} changes its bus, p_mw or s_mva from line {der.Line}", "repeat the same bus, p_mw and s_mva on every row of one DER");
                der.Blocks.Add(new ReactiveBlock(dir == "inject", price, q));
            }
            else
            {
                byId[id] = (ln, bus, p, s, [new ReactiveBlock(dir == "inject", price, q)]);
                order.Add(id);
            }
        }
        if (order.Count == 0) throw new InputException(file, 1, "no DER offers", $"add rows {Header}");
        return [.. order.Select(id => new Der(id, byId[id].Bus, byId[id].P, byId[id].S, byId[id].Blocks))];
    }
}
