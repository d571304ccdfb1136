using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using OpenTE.Grid.Input;
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
public static partial class MatpowerCase
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
            busLine.TryAdd(id, line);
            int type = Integer(row[1], file, line, "bus type (column 2)");
            buses.Add(new Bus(id, (BusType)type, row[2], row[3], row[4], row[5], Integer(row[6], file, line, "area (column 7)"),
                row[7], row[8], row[9], Integer(row[10], file, line, "zone (column 11)"), row[11], row[12])
            { Extra = Tail(row, BusCols) });
        }
        // ---- generators
        var gens = new List<Generator>(genM.Rows.Count);
        for (int r = 0; r < genM.Rows.Count; r++)
        {
            var row = Pad(genM.Rows[r], GenCols);
            int line = genM.RowLines[r];
            int bus = Integer(row[0], file, line, "generator bus (column 1)");
            int status = Integer(row[7], file, line, "generator status (column 8)");
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
            int status = Integer(row[10], file, line, "branch status (column 11)");
            branches.Add(new Branch(f, t, row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9], status, row[11], row[12])
            { Extra = Tail(raw, BranchCols) });
        }

        // ---- costs
        var costs = new List<GenCost>();
        if (script.Matrices.TryGetValue("gencost", out var costM) && costM.Rows.Count > 0)
        {
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

        // ---- the model checks of every format, rendered as file:line and MATPOWER columns
        var issues = NetworkValidator.Check(baseMva.Value, buses, gens, branches, costs);
        if (issues.Count > 0)
        {
            var i = issues[0];
            int line = i.Element switch
            {
                CaseElement.Case => baseMva.Line,
                CaseElement.Bus => i.Index >= 0 ? busM.RowLines[i.Index] : busM.Line,
                CaseElement.Generator => i.Index >= 0 ? genM.RowLines[i.Index] : genM.Line,
                CaseElement.Branch => i.Index >= 0 ? branchM.RowLines[i.Index] : branchM.Line,
                _ => script.Matrices.TryGetValue("gencost", out var cm) ? (i.Index >= 0 ? cm.RowLines[i.Index] : cm.Line) : 0,
            };
            string message = Render(i.Message, i.Element, busM.RowLines);
            if (i.Field is not null && i.Index >= 0 && !message.StartsWith(ElementWord(i.Element), StringComparison.Ordinal))
                message = $"{ElementWord(i.Element)} {i.Index + 1}, column {Column(i.Element, i.Field)}: {message}";
            throw new CaseFormatException(file, line, message, Render(i.Fix, i.Element, busM.RowLines));
        }
        var network = new Network(name, baseMva.Value, buses, gens, branches, costs, cells);
        foreach (var (_, message) in NetworkValidator.Warnings(network)) warnings.Add(new Diagnostic(file, 0, message));
        return new CaseReadResult(network, warnings);
    }

    private static string ElementWord(CaseElement e) => e switch
    {
        CaseElement.Bus => "bus",
        CaseElement.Generator => "generator",
        CaseElement.Branch => "branch",
        CaseElement.GenCost => "gencost row",
        _ => "mpc",
    };

    /// <summary>The 1-based MATPOWER column of a case-JSON field name (the two formats list the columns in the same order).</summary>
    private static int Column(CaseElement e, string field)
    {
        var fields = e switch
        {
            CaseElement.Bus => Json.CaseJson.BusFields,
            CaseElement.Generator => Json.CaseJson.GenFields,
            CaseElement.Branch => Json.CaseJson.BranchFields,
            _ => [],
        };
        return Array.IndexOf(fields, field) + 1;
    }

    /// <summary>A validation text in MATPOWER's terms: «vmax» → column 12, «buses» → mpc.bus, «bus-row:k» → its line.</summary>
    private static string Render(string text, CaseElement element, IReadOnlyList<int> busLines) =>
        NetworkValidator.Render(text, token => token switch
        {
            "buses" => "mpc.bus",
            "genCosts" => "mpc.gencost",
            "REF" => "3",
            "set-ref" => "set the type (column 2) of one bus with a generator to 3",
            var t when t.StartsWith("bus-row:", StringComparison.Ordinal) => $"line {busLines[int.Parse(t[8..], CultureInfo.InvariantCulture)]}",
            var f => $"column {Column(element, f)} ({MatpowerName(f)})",
        });

    /// <summary>MATPOWER's name of a column (caseformat), for messages.</summary>
    private static string MatpowerName(string field) => field switch
    {
        "id" => "bus number", "vaDeg" => "Va", "ratio" => "tap ratio", "angleDeg" => "shift angle",
        "angMinDeg" => "angmin", "angMaxDeg" => "angmax", "from" => "from bus", "to" => "to bus",
        "baseKV" or "mBase" or "rateA" or "rateB" or "rateC" or "rampAgc" or "ramp10" or "ramp30" or "rampQ" or "apf" or "r" or "x" or "b" => field,
        _ => char.ToUpperInvariant(field[0]) + field[1..],
    };


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
