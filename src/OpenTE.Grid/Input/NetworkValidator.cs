using System.Globalization;
using OpenTE.Grid.Model;

namespace OpenTE.Grid.Input;

/// <summary>The kind of element an issue is about.</summary>
public enum CaseElement { Case, Bus, Generator, Branch, GenCost }

/// <summary>
/// One problem of a network's data, independent of the file format: the element and its 0-based index (−1 for the case
/// or a whole table), the field (the JSON field name, e.g. <c>vmax</c>; null for the element as a whole), what is wrong
/// and how to fix it. <see cref="Message"/> and <see cref="Fix"/> refer to fields as «name» and to the bus table as
/// «buses», to a bus row as «bus-row:k», to the reference type as «REF»: each reader renders these in its own terms
/// (MATPOWER: "column 12", "mpc.bus", "line 7", "3"; JSON: "\"vmax\"", "buses", "buses[6]", "\"REF\"").
/// </summary>
public sealed record ValidationIssue(CaseElement Element, int Index, string? Field, string Message, string Fix);

/// <summary>
/// The model checks of a network, one set for every format (MATPOWER .m, case JSON, a network built in code). It checks
/// what MATPOWER's own data model makes impossible or meaningless — unknown or duplicate buses, NaN and infinite values
/// where a finite number is needed, absurd magnitudes that would overflow the solvers, limits that cross, no reference
/// bus — and leaves alone what MATPOWER accepts as data (negative reactance, out-of-service elements, islands).
/// The readers render the issues as file:line (MATPOWER) or as a JSON path and its line.
/// </summary>
public static partial class NetworkValidator
{
    /// <summary>Renders the «tokens» of an issue's message or fix in a reader's own terms.</summary>
    public static string Render(string text, Func<string, string> token) => Token().Replace(text, m => token(m.Groups[1].Value));

    [System.Text.RegularExpressions.GeneratedRegex("«([^»]+)»")]
    private static partial System.Text.RegularExpressions.Regex Token();

    /// <summary>Largest believable power, MW or MVAr (10 TW): beyond it a value is a typo or an attack, not a grid.</summary>
    public const double MaxPower = 1e7;
    /// <summary>Largest believable impedance or susceptance magnitude, p.u.</summary>
    public const double MaxImpedance = 1e6;
    /// <summary>Smallest in-service series impedance |r + jx|, p.u.: below it the admittance overflows.</summary>
    public const double MinImpedance = 1e-8;
    /// <summary>Largest believable voltage magnitude (set point, initial value), p.u.</summary>
    public const double MaxVoltage = 10;
    /// <summary>Largest believable off-nominal tap ratio.</summary>
    public const double MaxTap = 100;

    /// <summary>The errors of a network's parts; empty when it can be built and solved.</summary>
    public static IReadOnlyList<ValidationIssue> Check(double baseMva, IReadOnlyList<Bus> buses, IReadOnlyList<Generator> gens,
        IReadOnlyList<Branch> branches, IReadOnlyList<GenCost> costs)
    {
        var issues = new List<ValidationIssue>();
        void Add(CaseElement e, int i, string? f, string m, string fix) => issues.Add(new ValidationIssue(e, i, f, m, fix));

        if (!(baseMva > 0) || !double.IsFinite(baseMva) || baseMva > MaxPower)
            Add(CaseElement.Case, -1, "baseMVA", $"baseMVA is {Num(baseMva)}", "the MVA base must be a positive number, usually 100");

        // ---- buses
        var row = new Dictionary<int, int>();
        for (int i = 0; i < buses.Count; i++)
        {
            var b = buses[i];
            string what = $"bus {b.Id}";
            if (b.Id <= 0) Add(CaseElement.Bus, i, "id", $"bus number {b.Id} is not positive", "bus numbers are positive integers");
            else if (!row.TryAdd(b.Id, i)) Add(CaseElement.Bus, i, "id", $"duplicate bus number {b.Id} (also «bus-row:{row[b.Id]}»)", "give every bus a unique number");
            if (!Enum.IsDefined(b.Type)) Add(CaseElement.Bus, i, "type", $"{what} has type {(int)b.Type}", "bus type must be PQ (1), PV (2), reference (3) or isolated (4)");
            foreach (var (f, v) in new[] { ("pd", b.Pd), ("qd", b.Qd), ("gs", b.Gs), ("bs", b.Bs) })
                Range(issues, CaseElement.Bus, i, f, v, what, -MaxPower, MaxPower, "loads and shunts are MW / MVAr at 1 p.u.: finite numbers");
            Range(issues, CaseElement.Bus, i, "vm", b.Vm, what, 0, MaxVoltage, "the voltage magnitude is in p.u., usually near 1");
            Range(issues, CaseElement.Bus, i, "vaDeg", b.VaDeg, what, -1e4, 1e4, "the voltage angle is in degrees");
            Range(issues, CaseElement.Bus, i, "baseKV", b.BaseKV, what, 0, 1e4, "base kV is ≥ 0; 0 when unknown");
            Range(issues, CaseElement.Bus, i, "vmax", b.Vmax, what, 0, MaxVoltage, "voltage limits are in p.u., usually 0.9 … 1.1");
            Range(issues, CaseElement.Bus, i, "vmin", b.Vmin, what, 0, MaxVoltage, "voltage limits are in p.u., usually 0.9 … 1.1");
            if (b.Vmax < b.Vmin) Add(CaseElement.Bus, i, null, $"{what} has Vmax {Num(b.Vmax)} below Vmin {Num(b.Vmin)}", "swap the voltage limits («vmax» and «vmin»)");
        }
        if (buses.Count > 0 && !buses.Any(b => b.Type == BusType.Ref))
            Add(CaseElement.Bus, -1, null, "no reference bus: no bus has type «REF»", "«set-ref»");

        // ---- generators
        for (int i = 0; i < gens.Count; i++)
        {
            var g = gens[i];
            string what = $"generator {i + 1}";
            if (!row.ContainsKey(g.Bus)) Add(CaseElement.Generator, i, "bus", $"bus {g.Bus} is not in «buses»", "use a bus number defined in «buses»");
            Range(issues, CaseElement.Generator, i, "pg", g.Pg, what, -MaxPower, MaxPower, "the output is in MW");
            Range(issues, CaseElement.Generator, i, "qg", g.Qg, what, -MaxPower, MaxPower, "the output is in MVAr");
            Range(issues, CaseElement.Generator, i, "vg", g.Vg, what, 0, MaxVoltage, "the voltage set point is in p.u., usually near 1");
            // limits may be +Inf / −Inf (no limit), else of a real size
            if (!double.IsPositiveInfinity(g.Pmax)) Range(issues, CaseElement.Generator, i, "pmax", g.Pmax, what, -MaxPower, MaxPower, "limits are MW; +Inf for no limit");
            if (!double.IsNegativeInfinity(g.Pmin)) Range(issues, CaseElement.Generator, i, "pmin", g.Pmin, what, -MaxPower, MaxPower, "limits are MW; −Inf for no limit");
            if (double.IsFinite(g.Qmax)) Range(issues, CaseElement.Generator, i, "qmax", g.Qmax, what, -MaxPower, MaxPower, "limits are MVAr; +Inf for no limit");
            if (double.IsFinite(g.Qmin)) Range(issues, CaseElement.Generator, i, "qmin", g.Qmin, what, -MaxPower, MaxPower, "limits are MVAr; −Inf for no limit");
            // MATPOWER allows ±Inf reactive limits (no limit); NaN or a limit on the wrong side is refused
            foreach (var (f, v) in new[] { ("qmax", g.Qmax), ("qmin", g.Qmin) })
                if (double.IsNaN(v)) Add(CaseElement.Generator, i, f, $"{what}: «{f}» is NaN", "replace it by a number (Inf means no limit)");
            if (double.IsNegativeInfinity(g.Qmax) || double.IsPositiveInfinity(g.Qmin))
                Add(CaseElement.Generator, i, null, $"{what} has Qmax {Num(g.Qmax)} and Qmin {Num(g.Qmin)}", "Qmax may be +Inf and Qmin −Inf (no limit), not the other way round");
            foreach (var (f, v) in new[] { ("mBase", g.MBase), ("pc1", g.Pc1), ("pc2", g.Pc2), ("qc1min", g.Qc1Min), ("qc1max", g.Qc1Max), ("qc2min", g.Qc2Min), ("qc2max", g.Qc2Max), ("rampAgc", g.RampAgc), ("ramp10", g.Ramp10), ("ramp30", g.Ramp30), ("rampQ", g.RampQ), ("apf", g.Apf) })
                Range(issues, CaseElement.Generator, i, f, v, what, -MaxPower, MaxPower, "a finite number");
            if (g.InService && g.Pmax < g.Pmin) Add(CaseElement.Generator, i, null, $"{what} has Pmax {Num(g.Pmax)} below Pmin {Num(g.Pmin)}", "swap Pmax and Pmin («pmax» and «pmin»)");
            if (g.InService && g.Qmax < g.Qmin) Add(CaseElement.Generator, i, null, $"{what} has Qmax {Num(g.Qmax)} below Qmin {Num(g.Qmin)}", "swap Qmax and Qmin («qmax» and «qmin»)");
        }

        // ---- branches
        for (int i = 0; i < branches.Count; i++)
        {
            var br = branches[i];
            string what = $"branch {i + 1} ({br.From}-{br.To})";
            foreach (var (f, id) in new[] { ("from", br.From), ("to", br.To) })
                if (!row.ContainsKey(id)) Add(CaseElement.Branch, i, f, $"bus {id} is not in «buses»", "use a bus number defined in «buses»");
            if (br.From == br.To) Add(CaseElement.Branch, i, null, $"branch {i + 1} connects bus {br.From} to itself", "remove it or model it as a bus shunt (Gs, Bs)");
            Range(issues, CaseElement.Branch, i, "r", br.R, what, -MaxImpedance, MaxImpedance, "impedances are in p.u.");
            Range(issues, CaseElement.Branch, i, "x", br.X, what, -MaxImpedance, MaxImpedance, "impedances are in p.u.");
            Range(issues, CaseElement.Branch, i, "b", br.B, what, -MaxImpedance, MaxImpedance, "the charging susceptance is in p.u.");
            if (br.Ratio != 0 && Math.Abs(br.Ratio) < 1e-3) Add(CaseElement.Branch, i, "ratio", $"{what}: «ratio» = {Num(br.Ratio)} is outside 0.001 … {Num(MaxTap)}", "write 0 for a line, else the off-nominal ratio within that range");
            else if (br.Ratio < 0) Add(CaseElement.Branch, i, null, $"{what} has a negative tap ratio {Num(br.Ratio)}", "the ratio («ratio») is 0 for lines or a positive off-nominal tap");
            else Range(issues, CaseElement.Branch, i, "ratio", br.Ratio, what, 0, MaxTap, "the ratio is 0 for lines or a positive off-nominal tap");
            Range(issues, CaseElement.Branch, i, "angleDeg", br.AngleDeg, what, -360, 360, "the phase shift is in degrees");
            if (br.InService && br.X != 0 && Math.Abs(br.X) < MinImpedance && double.IsFinite(br.X))
                Add(CaseElement.Branch, i, "x", $"{what} has a reactance x = {Num(br.X)} p.u., nonzero but below {Num(MinImpedance)} in magnitude", "give it a reactance of at least 1e-4 p.u., or merge the two buses");
            if (br.InService && br.R == 0 && br.X == 0)
                Add(CaseElement.Branch, i, null, $"{what} has zero impedance (r = x = 0)", "give it a small reactance, e.g. x = 1e-4, or merge the two buses");
            else if (br.InService && double.IsFinite(br.R) && double.IsFinite(br.X) && Math.Sqrt(br.R * br.R + br.X * br.X) < MinImpedance)
                Add(CaseElement.Branch, i, null, $"{what} has an impedance of {Num(Math.Sqrt(br.R * br.R + br.X * br.X))} p.u., below {Num(MinImpedance)}", "give it a reactance of at least 1e-4 p.u., or merge the two buses");
            foreach (var (f, v) in new[] { ("rateA", br.RateA), ("rateB", br.RateB), ("rateC", br.RateC) })
            {
                if (v < 0) Add(CaseElement.Branch, i, null, $"{what} has a negative rating {Num(v)} in «{f}»", "ratings are ≥ 0 (0 means unlimited)");
                else Range(issues, CaseElement.Branch, i, f, v, what, 0, MaxPower, "ratings are MVA ≥ 0 (0 means unlimited)");
            }
            foreach (var (f, v) in new[] { ("angMinDeg", br.AngMinDeg), ("angMaxDeg", br.AngMaxDeg) })
                if (double.IsNaN(v)) Add(CaseElement.Branch, i, f, $"{what}: «{f}» is NaN", "replace it by a number (−360 and 360 mean no limit)");
            if (br.AngMinDeg > br.AngMaxDeg || double.IsPositiveInfinity(br.AngMinDeg) || double.IsNegativeInfinity(br.AngMaxDeg))
                Add(CaseElement.Branch, i, null, $"{what} has angmin {Num(br.AngMinDeg)} and angmax {Num(br.AngMaxDeg)}", "angmin ≤ angmax, in degrees (−360 and 360 mean no limit)");
        }

        // ---- costs
        if (costs.Count > 0 && costs.Count != gens.Count && costs.Count != 2 * gens.Count)
            Add(CaseElement.GenCost, -1, null, $"«genCosts» has {costs.Count} rows for {gens.Count} generators", "give one cost row per generator (or two per generator: active then reactive)");
        for (int i = 0; i < costs.Count; i++)
        {
            var c = costs[i];
            if (!double.IsFinite(c.Startup) || !double.IsFinite(c.Shutdown) || c.Coefficients.Any(v => !double.IsFinite(v)))
            {
                Add(CaseElement.GenCost, i, null, $"gencost row {i + 1} has a non-finite coefficient", "use finite numbers");
                continue;
            }
            if (c.Model == CostModel.PiecewiseLinear)
                for (int k = 1; k < c.Coefficients.Length / 2; k++)
                    if (c.Coefficients[2 * k] <= c.Coefficients[2 * k - 2])
                    {
                        Add(CaseElement.GenCost, i, null, $"gencost row {i + 1}: piecewise-linear x values are not increasing at point {k + 1}", "list the breakpoints in increasing MW order");
                        break;
                    }
        }
        return issues;
    }

    /// <summary>
    /// What a user should know of a valid network: isolated buses and islands without a reference bus (at their bus), and
    /// silent assumptions — no branch ratings, no generator costs, negative reactances (bus −1: the case as a whole).
    /// </summary>
    public static IReadOnlyList<(int Bus, string Message)> Warnings(Network network)
    {
        var warnings = new List<(int, string)>();
        foreach (var island in network.Islands.Where(i => !i.HasReference && i.Buses.Count > 0))
            warnings.Add((island.Buses[0], island.Buses.Count == 1
                ? $"bus {network.Buses[island.Buses[0]].Id} is isolated (no in-service branch)"
                : $"island of {island.Buses.Count} buses (incl. bus {network.Buses[island.Buses[0]].Id}) has no reference bus"));
        var inService = network.Branches.Where(b => b.InService).ToList();
        if (inService.Count > 0 && inService.All(b => b.RateA <= 0))
            warnings.Add((-1, "no branch has a rating (rateA = 0 everywhere): flows are unlimited, so there is no congestion and an N-1 study finds nothing to secure"));
        if (network.Generators.Length > 0 && network.GenCosts.Length == 0)
            warnings.Add((-1, "no generator costs (mpc.gencost): an OPF or a clearing prices the case's generators at 0"));
        int negativeX = inService.Count(b => b.X < 0);
        if (negativeX > 0)
            warnings.Add((-1, $"{negativeX} in-service branch(es) with negative reactance (series compensation or a network equivalent): taken as data"));
        int negativeR = inService.Count(b => b.R < 0);
        if (negativeR > 0)
            warnings.Add((-1, $"{negativeR} in-service branch(es) with negative resistance (a star equivalent of a three-winding transformer or a network reduction): taken as data; such a branch generates active power in the loss figures"));
        return warnings;
    }

    /// <summary>Throws the first issue as the reader renders it (each reader passes its renderer).</summary>
    public static void ThrowFirst(IReadOnlyList<ValidationIssue> issues, Func<ValidationIssue, CaseFormatException> render)
    {
        if (issues.Count > 0) throw render(issues[0]);
    }

    private static void Range(List<ValidationIssue> issues, CaseElement e, int i, string field, double v, string what, double lo, double hi, string fix)
    {
        if (double.IsNaN(v)) issues.Add(new ValidationIssue(e, i, field, $"{what}: «{field}» is NaN", "replace it by a number"));
        else if (double.IsInfinity(v)) issues.Add(new ValidationIssue(e, i, field, $"{what}: «{field}» is infinite", $"{fix}; allowed: {Num(lo)} … {Num(hi)}"));
        else if (v < lo || v > hi) issues.Add(new ValidationIssue(e, i, field, $"{what}: «{field}» = {Num(v)} is outside {Num(lo)} … {Num(hi)}", fix));
    }

    internal static string Num(double v) => v.ToString("G6", CultureInfo.InvariantCulture).Replace("E+", "e").Replace("E-", "e-");
}
