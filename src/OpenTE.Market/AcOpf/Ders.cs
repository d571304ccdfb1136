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
    /// <summary>Largest believable DER rating or output, MVA.</summary>
    public const double MaxMva = 1e5;

    public static List<Der> Read(string path, Network net) => Parse(InputFiles.ReadText(path), path, net);

    public static List<Der> Parse(string text, string file, Network net)
    {
        var table = CsvTable.Parse(text, file, [Header.Split(',')]);
        var order = new List<string>();
        var byId = new Dictionary<string, (int Line, int Bus, double P, double S, List<ReactiveBlock> Blocks)>();
        foreach (var row in table.Rows)
        {
            int ln = row.Line;
            string id = row.Text("der", "name the DER in the first column");
            int bus = row.Integer("bus", "use the bus number of the case file");
            if (!net.BusIndex.TryGetValue(bus, out int bi) || net.Buses[bi].Type == BusType.Isolated)
                throw row.Error("bus", $"bus: {bus} is not an energised bus of {net.Name}", "use a bus number from the case's bus table");
            double Num(string name) => row.Number(name, $"write {name} as a plain number", -MaxMva, MaxMva);
            double p = Num("p_mw"), s = Num("s_mva"), price = row.Number("price", "write the price in $/MVArh", -1e6, 1e6), q = Num("q_mvar");
            if (p < 0) throw row.Error("p_mw", $"p_mw: {p} is negative", "give the DER's active output in MW (≥ 0)");
            if (!(s > 0)) throw row.Error("s_mva", $"s_mva: {s} must be positive", "give the inverter's apparent-power rating in MVA");
            if (p > s) throw row.Error("p_mw", $"p_mw {p} is above s_mva {s}", "an inverter cannot deliver more than its rating");
            if (!(q > 0)) throw row.Error("q_mvar", $"q_mvar: {q} must be positive", "offer a positive block size; the direction column gives the sign");
            if (q > s) throw row.Error("q_mvar", $"q_mvar {q} is above s_mva {s}", "a block cannot exceed the inverter's rating");
            string dir = row["direction"].ToLowerInvariant();
            if (dir is not ("inject" or "absorb")) throw row.Error("direction", $"direction: '{CsvTable.Shorten(row["direction"])}' is not inject or absorb", "write inject (capacitive) or absorb (inductive)");
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
