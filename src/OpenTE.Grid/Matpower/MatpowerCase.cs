using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using OpenTE.Grid.Model;

namespace OpenTE.Grid.Matpower;

/// <summary>A network read from a file together with the warnings found on the way.</summary>
public sealed record CaseReadResult(Network Network, IReadOnlyList<Diagnostic> Warnings);

/// <summary>
/// Reads and writes MATPOWER case files (format version 2). Reading never trusts the file: every
/// malformed row, unknown bus, duplicate number or impossible value is a <see cref="CaseFormatException"/>
/// with file, line and a hint. Extra columns are kept (with a warning when they are not MATPOWER's own
/// result columns).
/// </summary>
public static class MatpowerCase
{
    // Standard column counts and the counts including MATPOWER's solution columns.
    private const int BusCols = 13, BusResultCols = 17;
    private const int GenCols = 21, GenMinCols = 10, GenResultCols = 25;
    private const int BranchCols = 13, BranchMinCols = 11, BranchResultCols = 21;

    private static readonly HashSet<string> KnownIgnored = ["areas", "version"];

    public static CaseReadResult Read(string path)
    {
        string text = InputFiles.ReadText(path);
        return Parse(text, path, Path.GetFileNameWithoutExtension(path));
    }

    public static CaseReadResult Parse(string text, string file, string? defaultName = null)
    {
        var script = MatlabScript.Parse(text, file);
        var warnings = new List<Diagnostic>();
        string name = script.FunctionName ?? defaultName ?? Path.GetFileNameWithoutExtension(file);

        if (script.Strings.TryGetValue("version", out var version) && version.Value != "2")
            throw new CaseFormatException(file, version.Line, $"MATPOWER case format version '{version.Value}' is not supported",
                "convert the case to version 2 (MATPOWER's loadcase/savecase does this)");
        if (!script.Scalars.TryGetValue("baseMVA", out var baseMva))
            throw new CaseFormatException(file, 0, "mpc.baseMVA is missing", "add 'mpc.baseMVA = 100;' (the system MVA base)");
        if (!(baseMva.Value > 0) || baseMva.Value > MaxPower)
            throw new CaseFormatException(file, baseMva.Line, $"mpc.baseMVA is {baseMva.Value}", "the MVA base must be a positive number, usually 100");

        var busM = Require(script, "bus", file);
        var genM = Require(script, "gen", file);
        var branchM = Require(script, "branch", file);
        CheckCols(busM, BusCols, BusCols, BusResultCols, file, warnings, "bus_i type Pd Qd Gs Bs area Vm Va baseKV zone Vmax Vmin");
        CheckCols(genM, GenMinCols, GenCols, GenResultCols, file, warnings, "bus Pg Qg Qmax Qmin Vg mBase status Pmax Pmin");
        CheckCols(branchM, BranchMinCols, BranchCols, BranchResultCols, file, warnings, "fbus tbus r x b rateA rateB rateC ratio angle status");

        // ---- buses
        var buses = new List<Bus>(busM.Rows.Count);
        var busLine = new Dictionary<int, int>();
        for (int r = 0; r < busM.Rows.Count; r++)
        {
            var row = busM.Rows[r];
            int line = busM.RowLines[r];
            int id = Integer(row[0], file, line, "bus number (column 1)");
            if (id <= 0) throw new CaseFormatException(file, line, $"bus number {id} is not positive", "bus numbers are positive integers");
            if (!busLine.TryAdd(id, line))
                throw new CaseFormatException(file, line, $"duplicate bus number {id} (first defined on line {busLine[id]})", "give every bus a unique number");
            int type = Integer(row[1], file, line, "bus type (column 2)");
            if (type is < 1 or > 4)
                throw new CaseFormatException(file, line, $"bus {id} has type {type}", "bus type must be 1 (PQ), 2 (PV), 3 (reference) or 4 (isolated)");
            Finite(row, 13, file, line, $"bus {id}");
            for (int k = 2; k <= 9; k++)
                if (double.IsInfinity(row[k]))
                    throw new CaseFormatException(file, line, $"bus {id}: column {k + 1} is infinite", "loads, shunts, voltages and base kV must be finite numbers");
            var bw = $"bus {id}";
            for (int k = 2; k <= 5; k++) Range(row[k], -MaxPower, MaxPower, file, line, bw, BusNames[k], k, "MW, MVAr");
            Range(row[7], 0, MaxVoltage, file, line, bw, "Vm", 7, "p.u.");
            Range(row[8], -MaxAngle, MaxAngle, file, line, bw, "Va", 8, "degrees");
            Range(row[9], 0, 1e4, file, line, bw, "baseKV", 9, "kV");
            Range(row[11], 0, MaxVoltage, file, line, bw, "Vmax", 11, "p.u.");
            Range(row[12], 0, MaxVoltage, file, line, bw, "Vmin", 12, "p.u.");
            if (row[11] < row[12])
                throw new CaseFormatException(file, line, $"bus {id} has Vmax {row[11]} below Vmin {row[12]}", "swap the voltage limits (columns 12 and 13)");
            if (row[9] < 0)
                throw new CaseFormatException(file, line, $"bus {id} has negative base kV {row[9]}", "baseKV (column 10) must be ≥ 0");
            buses.Add(new Bus(id, (BusType)type, row[2], row[3], row[4], row[5], Integer(row[6], file, line, "area (column 7)"),
                row[7], row[8], row[9], Integer(row[10], file, line, "zone (column 11)"), row[11], row[12])
            { Extra = Tail(row, BusCols) });
        }
        if (!buses.Any(b => b.Type == BusType.Ref))
            throw new CaseFormatException(file, busM.Line, "no reference bus: no bus has type 3",
                "set the type (column 2) of one bus with a generator to 3");

        // ---- generators
        var gens = new List<Generator>(genM.Rows.Count);
        for (int r = 0; r < genM.Rows.Count; r++)
        {
            var row = Pad(genM.Rows[r], GenCols);
            int line = genM.RowLines[r];
            int bus = Integer(row[0], file, line, "generator bus (column 1)");
            if (!busLine.ContainsKey(bus))
                throw new CaseFormatException(file, line, $"generator {r + 1} is at bus {bus}, which is not in mpc.bus", "use a bus number defined in mpc.bus");
            Finite(row, 2, file, line, $"generator {r + 1}");
            int status = Integer(row[7], file, line, "generator status (column 8)");
            var gw = $"generator {r + 1}";
            Range(row[1], -MaxPower, MaxPower, file, line, gw, "Pg", 1, "MW");
            Range(row[2], -MaxPower, MaxPower, file, line, gw, "Qg", 2, "MVAr");
            foreach (int k in (int[])[3, 4, 8, 9]) // limits may be ±Inf (unlimited), else of a real size (NaN is refused)
                if (!double.IsInfinity(row[k])) Range(row[k], -MaxPower, MaxPower, file, line, gw, GenNames[k], k, "MW, MVAr; ±Inf for no limit");
            Range(row[5], 0, MaxVoltage, file, line, gw, "Vg", 5, "p.u.");
            Range(row[6], 0, MaxPower, file, line, gw, "mBase", 6, "MVA");
            for (int k = 10; k < GenCols; k++) Range(row[k], -MaxPower, MaxPower, file, line, gw, $"column {k + 1}", k, "MW, MVAr, MW/min");
            if (status > 0 && row[8] < row[9])
                throw new CaseFormatException(file, line, $"generator {r + 1} has Pmax {row[8]} below Pmin {row[9]}", "swap Pmax and Pmin (columns 9 and 10)");
            if (status > 0 && row[3] < row[4])
                throw new CaseFormatException(file, line, $"generator {r + 1} has Qmax {row[3]} below Qmin {row[4]}", "swap Qmax and Qmin (columns 4 and 5)");
            gens.Add(new Generator(bus, row[1], row[2], row[3], row[4], row[5], row[6], status, row[8], row[9])
            {
                Pc1 = row[10], Pc2 = row[11], Qc1Min = row[12], Qc1Max = row[13], Qc2Min = row[14], Qc2Max = row[15],
                RampAgc = row[16], Ramp10 = row[17], Ramp30 = row[18], RampQ = row[19], Apf = row[20],
                Extra = Tail(genM.Rows[r], GenCols),
            });
        }

        // ---- branches
        var branches = new List<Branch>(branchM.Rows.Count);
        for (int r = 0; r < branchM.Rows.Count; r++)
        {
            var raw = branchM.Rows[r];
            var row = Pad(raw, BranchCols);
            if (raw.Length < 13) { row[11] = -360; row[12] = 360; }
            int line = branchM.RowLines[r];
            int f = Integer(row[0], file, line, "from bus (column 1)");
            int t = Integer(row[1], file, line, "to bus (column 2)");
            foreach (int b in (int[])[f, t])
                if (!busLine.ContainsKey(b))
                    throw new CaseFormatException(file, line, $"branch {r + 1} ({f}-{t}) refers to bus {b}, which is not in mpc.bus", "use bus numbers defined in mpc.bus");
            Finite(row, 11, file, line, $"branch {r + 1} ({f}-{t})");
            foreach (int k in (int[])[2, 3, 4, 8, 9])
                if (double.IsInfinity(row[k]))
                    throw new CaseFormatException(file, line, $"branch {r + 1} ({f}-{t}): column {k + 1} is infinite", "impedance, charging, tap and shift must be finite numbers");
            int status = Integer(row[10], file, line, "branch status (column 11)");
            var rw = $"branch {r + 1} ({f}-{t})";
            Range(row[2], -MaxImpedance, MaxImpedance, file, line, rw, "r", 2, "p.u.");
            Range(row[3], -MaxImpedance, MaxImpedance, file, line, rw, "x", 3, "p.u.");
            Range(row[4], -MaxImpedance, MaxImpedance, file, line, rw, "b", 4, "p.u.");
            if (status > 0 && row[3] != 0 && Math.Abs(row[3]) < MinImpedance)
                throw new CaseFormatException(file, line, $"{rw} has a reactance x = {row[3]:G3} p.u., nonzero but below {MinImpedance:G1} in magnitude",
                    $"give it a reactance of at least {MinImpedance:G1} p.u. (e.g. 1e-4), or merge the two buses");
            if (row[8] != 0 && Math.Abs(row[8]) < 1e-3)
                throw new CaseFormatException(file, line, $"{rw}: tap ratio (column 9) is {row[8]:G3}, outside [0.001, 100]", "write 0 for a line, else the off-nominal ratio within that range");
            if (status > 0 && (row[2] != 0 || row[3] != 0) && Math.Abs(row[2]) + Math.Abs(row[3]) < MinImpedance)
                throw new CaseFormatException(file, line, $"{rw} has an impedance |r| + |x| = {Math.Abs(row[2]) + Math.Abs(row[3]):G3} p.u. below {MinImpedance:G1}",
                    $"give it a reactance of at least {MinImpedance:G1} p.u. (e.g. 1e-4), or merge the two buses");
            for (int k = 5; k <= 7; k++) Range(row[k], -MaxPower, MaxPower, file, line, rw, $"rate{(char)('A' + k - 5)}", k, "MVA; 0 = unlimited");
            Range(row[8], double.NegativeInfinity, 100, file, line, rw, "tap ratio", 8, "0 for a line, else the off-nominal ratio");
            Range(row[9], -MaxAngle, MaxAngle, file, line, rw, "shift angle", 9, "degrees");
            Range(row[11], double.NegativeInfinity, MaxAngle, file, line, rw, "angmin", 11, "degrees; -360 (or -Inf) for no limit");
            Range(row[12], -MaxAngle, double.PositiveInfinity, file, line, rw, "angmax", 12, "degrees; 360 (or Inf) for no limit");
            if (row[11] > row[12])
                throw new CaseFormatException(file, line, $"{rw} has angmin {row[11]} above angmax {row[12]}", "swap the angle limits (columns 12 and 13)");
            if (row[2] < 0)
                throw new CaseFormatException(file, line, $"branch {r + 1} ({f}-{t}) has negative resistance r = {row[2]}", "resistance (column 3) must be ≥ 0");
            if (status > 0 && row[2] == 0 && row[3] == 0)
                throw new CaseFormatException(file, line, $"branch {r + 1} ({f}-{t}) has zero impedance (r = x = 0)", "give it a small reactance, e.g. x = 1e-4, or merge the two buses");
            for (int k = 5; k <= 7; k++)
                if (row[k] < 0)
                    throw new CaseFormatException(file, line, $"branch {r + 1} ({f}-{t}) has a negative rating {row[k]} in column {k + 1}", "ratings are ≥ 0 (0 means unlimited)");
            if (row[8] < 0)
                throw new CaseFormatException(file, line, $"branch {r + 1} ({f}-{t}) has a negative tap ratio {row[8]}", "the ratio (column 9) is 0 for lines or a positive off-nominal tap");
            if (f == t)
                throw new CaseFormatException(file, line, $"branch {r + 1} connects bus {f} to itself", "remove it or model it as a bus shunt (Gs, Bs)");
            branches.Add(new Branch(f, t, row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9], status, row[11], row[12])
            { Extra = Tail(raw, BranchCols) });
        }

        // ---- costs
        var costs = new List<GenCost>();
        if (script.Matrices.TryGetValue("gencost", out var costM) && costM.Rows.Count > 0)
        {
            if (costM.Rows.Count != gens.Count && costM.Rows.Count != 2 * gens.Count)
                throw new CaseFormatException(file, costM.Line, $"mpc.gencost has {costM.Rows.Count} rows for {gens.Count} generators",
                    "give one cost row per generator (or two per generator: active then reactive)");
            for (int r = 0; r < costM.Rows.Count; r++)
            {
                var row = costM.Rows[r];
                int line = costM.RowLines[r];
                if (row.Length < 4)
                    throw new CaseFormatException(file, line, $"gencost row {r + 1} has {row.Length} columns", "write: model startup shutdown n coefficients…");
                int model = Integer(row[0], file, line, "cost model (column 1)");
                if (model is not (1 or 2))
                    throw new CaseFormatException(file, line, $"gencost row {r + 1} has model {model}", "use 1 (piecewise linear) or 2 (polynomial)");
                int n = Integer(row[3], file, line, "number of cost points/coefficients (column 4)");
                int need = model == 1 ? 2 * n : n;
                if (n < 0 || row.Length < 4 + need)
                    throw new CaseFormatException(file, line, $"gencost row {r + 1} announces n = {n} but has room for only {row.Length - 4} values",
                        model == 1 ? "a piecewise-linear cost needs n (x, y) pairs after column 4" : "a polynomial cost needs n coefficients after column 4");
                var coeffs = row.AsSpan(4, need).ToArray();
                if (coeffs.Any(c => !double.IsFinite(c)))
                    throw new CaseFormatException(file, line, $"gencost row {r + 1} has a non-finite coefficient", "use finite numbers");
                for (int k = 1; k < 4 + need; k++)
                    if (k != 3) Range(row[k], -MaxCost, MaxCost, file, line, $"gencost row {r + 1}", k == 1 ? "startup" : k == 2 ? "shutdown" : $"value {k - 3}", k, "$, $/MWh, MW");
                if (model == 1)
                    for (int k = 1; k < n; k++)
                        if (coeffs[2 * k] <= coeffs[2 * k - 2])
                            throw new CaseFormatException(file, line, $"gencost row {r + 1}: piecewise-linear x values are not increasing at point {k + 1}",
                                "list the breakpoints in increasing MW order");
                costs.Add(new GenCost((CostModel)model, row[1], row[2], [.. coeffs]) { Padding = Tail(row, 4 + need) });
            }
        }

        // ---- names and other cell arrays
        var cells = new Dictionary<string, ImmutableArray<string>>();
        foreach (var (field, (items, line)) in script.Cells)
        {
            if (field == "bus_name")
            {
                if (items.Count != buses.Count)
                    throw new CaseFormatException(file, line, $"mpc.bus_name has {items.Count} names for {buses.Count} buses", "give exactly one name per bus row");
                for (int i = 0; i < buses.Count; i++) buses[i] = buses[i] with { Name = items[i] };
            }
            else cells[field] = [.. items];
        }

        foreach (var (field, m) in script.Matrices)
            if (field is not ("bus" or "gen" or "branch" or "gencost"))
                warnings.Add(new Diagnostic(file, m.Line, $"mpc.{field} is not used by OpenTE and is ignored"));
        foreach (var (field, s) in script.Scalars)
            if (field != "baseMVA" && !KnownIgnored.Contains(field))
                warnings.Add(new Diagnostic(file, s.Line, $"mpc.{field} is not used by OpenTE and is ignored"));

        var network = new Network(name, baseMva.Value, buses, gens, branches, costs, cells);
        foreach (var island in Topology.Islands(network).Where(i => !i.HasReference && i.Buses.Count > 0))
        {
            warnings.Add(new Diagnostic(file, 0, island.Buses.Count == 1
                ? $"bus {network.Buses[island.Buses[0]].Id} is isolated (no in-service branch)"
                : $"island of {island.Buses.Count} buses (incl. bus {network.Buses[island.Buses[0]].Id}) has no reference bus"));
        }
        return new CaseReadResult(network, warnings);
    }

    private static RawMatrix Require(MatlabScript s, string field, string file) =>
        s.Matrices.TryGetValue(field, out var m) ? m
            : throw new CaseFormatException(file, 0, $"mpc.{field} is missing", $"add the mpc.{field} matrix (see MATPOWER's caseformat)");

    private static void CheckCols(RawMatrix m, int min, int standard, int withResults, string file, List<Diagnostic> warnings, string names)
    {
        if (m.Rows.Count == 0) return;
        if (m.Cols < min)
            throw new CaseFormatException(file, m.RowLines[0], $"mpc.{m.Name} has {m.Cols} columns, at least {min} are needed",
                $"the columns are: {names} …");
        if (m.Cols > withResults)
            warnings.Add(new Diagnostic(file, m.Line, $"mpc.{m.Name} has {m.Cols - withResults} columns beyond MATPOWER's {withResults}; they are kept but not used"));
        _ = standard;
    }

    private static int Integer(double v, string file, int line, string what)
    {
        if (v != Math.Floor(v) || double.IsInfinity(v) || Math.Abs(v) > int.MaxValue)
            throw new CaseFormatException(file, line, $"{what} is {v.ToString(CultureInfo.InvariantCulture)}, not an integer", "write a whole number");
        return (int)v;
    }

    /// <summary>The largest power, load, shunt or rating a case may hold (MW, MVAr, MVA): far beyond any real grid, far below overflow.</summary>
    public const double MaxPower = 1e7;
    /// <summary>Voltages (p.u.) from 0 to this.</summary>
    public const double MaxVoltage = 10;
    /// <summary>Angles (degrees) within ± this.</summary>
    public const double MaxAngle = 360;
    /// <summary>|r|, |x|, |b| (p.u.) at most this.</summary>
    public const double MaxImpedance = 1e6;
    /// <summary>An in-service branch needs |r| + |x| ≥ this (p.u.): smaller ones overflow the admittance matrix.</summary>
    public const double MinImpedance = 1e-8;
    /// <summary>Cost coefficients, breakpoints, start-up and shut-down costs within ± this.</summary>
    public const double MaxCost = 1e12;

    private static readonly string[] BusNames = ["bus_i", "type", "Pd", "Qd", "Gs", "Bs"];
    private static readonly string[] GenNames = ["bus", "Pg", "Qg", "Qmax", "Qmin", "Vg", "mBase", "status", "Pmax", "Pmin"];

    /// <summary>Refuses a value outside [lo, hi] (NaN included), naming the element, the field, its column and the range.</summary>
    private static void Range(double v, double lo, double hi, string file, int line, string what, string field, int col, string unit)
    {
        if (v >= lo && v <= hi) return;
        throw new CaseFormatException(file, line, $"{what}: {field} (column {col + 1}) is {v.ToString("G6", CultureInfo.InvariantCulture)}, outside [{Fmt(lo)}, {Fmt(hi)}]",
            $"write {field} in {unit} within that range");
        static string Fmt(double x) => double.IsPositiveInfinity(x) ? "Inf" : double.IsNegativeInfinity(x) ? "-Inf" : x.ToString("G6", CultureInfo.InvariantCulture);
    }

    private static void Finite(double[] row, int count, string file, int line, string what)
    {
        for (int k = 0; k < Math.Min(count, row.Length); k++)
            if (double.IsNaN(row[k]))
                throw new CaseFormatException(file, line, $"{what}: column {k + 1} is NaN", "replace it by a number");
    }

    private static double[] Pad(double[] row, int n) => row.Length >= n ? row : [.. row, .. new double[n - row.Length]];

    private static ImmutableArray<double> Tail(double[] row, int from) =>
        row.Length > from ? [.. row.AsSpan(from)] : ImmutableArray<double>.Empty;

    // ======================================================================== writing

    /// <summary>Writes the network as a MATPOWER version 2 case file.</summary>
    public static string Write(Network net)
    {
        var sb = new StringBuilder();
        string fn = SafeName(net.Name);
        sb.Append("function mpc = ").Append(fn).Append('\n');
        sb.Append("%").Append(fn.ToUpperInvariant()).Append("  Written by OpenTE.\n\n");
        sb.Append("%% MATPOWER Case Format : Version 2\nmpc.version = '2';\n\n");
        sb.Append("%% system MVA base\nmpc.baseMVA = ").Append(F(net.BaseMva)).Append(";\n\n");

        int busExtra = net.Buses.Length == 0 ? 0 : net.Buses.Max(b => b.Extra.Length);
        sb.Append("%% bus data\n%\tbus_i\ttype\tPd\tQd\tGs\tBs\tarea\tVm\tVa\tbaseKV\tzone\tVmax\tVmin\nmpc.bus = [\n");
        foreach (var b in net.Buses)
            Row(sb, [b.Id, (int)b.Type, b.Pd, b.Qd, b.Gs, b.Bs, b.Area, b.Vm, b.VaDeg, b.BaseKV, b.Zone, b.Vmax, b.Vmin], b.Extra, busExtra);
        sb.Append("];\n\n");

        int genExtra = net.Generators.Length == 0 ? 0 : net.Generators.Max(g => g.Extra.Length);
        sb.Append("%% generator data\n%\tbus\tPg\tQg\tQmax\tQmin\tVg\tmBase\tstatus\tPmax\tPmin\tPc1\tPc2\tQc1min\tQc1max\tQc2min\tQc2max\tramp_agc\tramp_10\tramp_30\tramp_q\tapf\nmpc.gen = [\n");
        foreach (var g in net.Generators)
            Row(sb, [g.Bus, g.Pg, g.Qg, g.Qmax, g.Qmin, g.Vg, g.MBase, g.Status, g.Pmax, g.Pmin, g.Pc1, g.Pc2, g.Qc1Min, g.Qc1Max,
                g.Qc2Min, g.Qc2Max, g.RampAgc, g.Ramp10, g.Ramp30, g.RampQ, g.Apf], g.Extra, genExtra);
        sb.Append("];\n\n");

        int brExtra = net.Branches.Length == 0 ? 0 : net.Branches.Max(b => b.Extra.Length);
        sb.Append("%% branch data\n%\tfbus\ttbus\tr\tx\tb\trateA\trateB\trateC\tratio\tangle\tstatus\tangmin\tangmax\nmpc.branch = [\n");
        foreach (var br in net.Branches)
            Row(sb, [br.From, br.To, br.R, br.X, br.B, br.RateA, br.RateB, br.RateC, br.Ratio, br.AngleDeg, br.Status, br.AngMinDeg, br.AngMaxDeg], br.Extra, brExtra);
        sb.Append("];\n");

        if (net.GenCosts.Length > 0)
        {
            int width = net.GenCosts.Max(c => c.Coefficients.Length + c.Padding.Length);
            sb.Append("\n%%-----  OPF Data  -----%%\n%% generator cost data\n%\t1\tstartup\tshutdown\tn\tx1\ty1\t...\txn\tyn\n%\t2\tstartup\tshutdown\tn\tc(n-1)\t...\tc0\nmpc.gencost = [\n");
            foreach (var c in net.GenCosts)
            {
                double[] head = [(int)c.Model, c.Startup, c.Shutdown, c.Points];
                Row(sb, [.. head, .. c.Coefficients, .. c.Padding], ImmutableArray<double>.Empty, width - c.Coefficients.Length - c.Padding.Length);
            }
            sb.Append("];\n");
        }

        if (net.Buses.Any(b => b.Name is not null))
            Cell(sb, "bus_name", net.Buses.Select(b => b.Name ?? ""));
        foreach (var (field, items) in net.CellArrays.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            Cell(sb, field, items);
        return sb.ToString();
    }

    public static void Save(Network net, string path) => File.WriteAllText(path, Write(net));

    private static void Row(StringBuilder sb, double[] values, ImmutableArray<double> extra, int extraWidth)
    {
        sb.Append('\t');
        for (int k = 0; k < values.Length; k++)
        {
            if (k > 0) sb.Append('\t');
            sb.Append(F(values[k]));
        }
        for (int k = 0; k < extraWidth; k++) sb.Append('\t').Append(F(k < extra.Length ? extra[k] : 0));
        sb.Append(";\n");
    }

    private static void Cell(StringBuilder sb, string field, IEnumerable<string> items)
    {
        sb.Append("\nmpc.").Append(field).Append(" = {\n");
        foreach (var s in items) sb.Append("\t'").Append(s.Replace("'", "''")).Append("';\n");
        sb.Append("};\n");
    }

    private static string SafeName(string name)
    {
        var chars = name.Select(c => char.IsLetterOrDigit(c) || c == '_' ? c : '_').ToArray();
        string s = new(chars);
        return s.Length == 0 || !char.IsLetter(s[0]) ? "case_" + s : s;
    }

    internal static string F(double v) => double.IsPositiveInfinity(v) ? "Inf" : double.IsNegativeInfinity(v) ? "-Inf"
        : double.IsNaN(v) ? "NaN" : v.ToString("R", CultureInfo.InvariantCulture);
}
