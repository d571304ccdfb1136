using System.Globalization;
using OpenTE.Grid.Input;

namespace OpenTE.Grid.Matpower;

/// <summary>A numeric matrix literal of a case file with the source line of each row.</summary>
internal sealed class RawMatrix(string name, int line)
{
    public string Name { get; } = name;
    public int Line { get; } = line;
    public List<double[]> Rows { get; } = [];
    public List<int> RowLines { get; } = [];
    public int Cols => Rows.Count == 0 ? 0 : Rows[0].Length;
}

/// <summary>
/// The statements of a MATPOWER case file that OpenTE understands: the <c>function</c> line, field
/// assignments of matrices, cell arrays, strings and scalars, the <c>idx_*</c> / <c>define_constants</c>
/// named columns, scalar variables, and column-block updates such as
/// <c>mpc.branch(:, [BR_R BR_X]) = mpc.branch(:, [BR_R BR_X]) / (Vbase^2 / Sbase);</c>
/// (case33bw converts ohms to p.u. this way). Anything else is refused with its line, never skipped.
/// </summary>
internal sealed class MatlabScript
{
    public string? FunctionName { get; private set; }
    public Dictionary<string, RawMatrix> Matrices { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, (List<string> Items, int Line)> Cells { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, (string Value, int Line)> Strings { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, (double Value, int Line)> Scalars { get; } = new(StringComparer.Ordinal);

    private readonly Dictionary<string, double> _vars = new(StringComparer.Ordinal);
    private readonly string _text;
    private readonly string _file;
    private int _pos;
    private int _line = 1;
    private string _structName = "mpc";

    private MatlabScript(string text, string file)
    {
        _text = text;
        _file = file;
    }

    public static MatlabScript Parse(string text, string file)
    {
        var s = new MatlabScript(text, file);
        s.Run();
        return s;
    }

    private CaseFormatException Error(string message, string hint, int? line = null) =>
        new(_file, line ?? _line, message, hint);

    // ---------------------------------------------------------------- scanning

    private char Peek(int ahead = 0) => _pos + ahead < _text.Length ? _text[_pos + ahead] : '\0';

    private bool AtEnd => _pos >= _text.Length;

    /// <summary>Skips blanks, comments and <c>...</c> continuations; newlines only when asked.</summary>
    private void SkipBlanks(bool newlines)
    {
        while (!AtEnd)
        {
            char c = Peek();
            if (c == ' ' || c == '\t' || c == '\r') { _pos++; continue; }
            if (c == '%' || c == '#') { SkipToEndOfLine(); continue; }
            if (c == '.' && Peek(1) == '.' && Peek(2) == '.') { SkipToEndOfLine(); ConsumeNewline(); continue; }
            if (c == '\n' && newlines) { ConsumeNewline(); continue; }
            break;
        }
    }

    private void SkipToEndOfLine()
    {
        while (!AtEnd && Peek() != '\n') _pos++;
    }

    private void ConsumeNewline()
    {
        if (Peek() == '\n') { _pos++; _line++; }
    }

    private bool TryConsume(char c)
    {
        SkipBlanks(false);
        if (Peek() != c) return false;
        _pos++;
        return true;
    }

    private void Expect(char c, string context)
    {
        if (!TryConsume(c))
            throw Error($"expected '{c}' {context} but found {Describe()}", "check the statement's syntax against MATPOWER's caseformat");
    }

    private string Describe()
    {
        if (AtEnd) return "the end of the file";
        char c = Peek();
        return c == '\n' ? "the end of the line" : $"'{c}'";
    }

    private string? ReadIdentifier()
    {
        SkipBlanks(false);
        int start = _pos;
        if (!(char.IsLetter(Peek()) || Peek() == '_')) return null;
        while (char.IsLetterOrDigit(Peek()) || Peek() == '_') _pos++;
        return _text[start.._pos];
    }

    /// <summary>Ends a statement: ';' or ',' and/or the end of the line (or file).</summary>
    private void EndStatement()
    {
        SkipBlanks(false);
        if (Peek() == ';' || Peek() == ',') _pos++;
        SkipBlanks(false);
        if (AtEnd) return;
        if (Peek() != '\n')
            throw Error($"unexpected {Describe()} after the end of a statement", "put one statement per line, ended by ';'");
        ConsumeNewline();
    }

    // ---------------------------------------------------------------- statements

    private void Run()
    {
        while (true)
        {
            SkipBlanks(true);
            if (AtEnd) return;
            int statementLine = _line;
            if (Peek() == '[') { IdxAssignment(); continue; }
            string? id = ReadIdentifier();
            if (id is null)
                throw Error($"unexpected {Describe()} at the start of a statement", "a case file holds assignments like 'mpc.bus = [ ... ];'");
            switch (id)
            {
                case "function":
                    FunctionHeader();
                    continue;
                case "define_constants":
                    foreach (var (n, v) in IdxTables.All) _vars[n] = v;
                    EndStatement();
                    continue;
                case "end" or "return":
                    EndStatement();
                    continue;
            }
            SkipBlanks(false);
            if (id == _structName && Peek() == '.')
            {
                _pos++;
                string field = ReadIdentifier() ?? throw Error("expected a field name after 'mpc.'", "write e.g. 'mpc.bus = [ ... ];'");
                SkipBlanks(false);
                if (Peek() == '(') { BlockAssignment(field, statementLine); continue; }
                Expect('=', $"after mpc.{field}");
                FieldAssignment(field, statementLine);
                continue;
            }
            Expect('=', $"after '{id}'");
            var val = Expression();
            if (!val.IsScalar) throw Error($"'{id}' must be a scalar", "only scalar helper variables are supported");
            _vars[id] = val.Data[0];
            EndStatement();
        }
    }

    private void FunctionHeader()
    {
        // function mpc = name  |  function name
        string? a = ReadIdentifier();
        SkipBlanks(false);
        if (Peek() == '=')
        {
            _pos++;
            _structName = a ?? "mpc";
            FunctionName = ReadIdentifier();
        }
        else FunctionName = a;
        EndStatement();
    }

    private void IdxAssignment()
    {
        int line = _line;
        _pos++; // [
        var names = new List<string>();
        while (true)
        {
            SkipBlanks(true);
            if (Peek() == ',') { _pos++; continue; }
            if (Peek() == ']') { _pos++; break; }
            string? n = ReadIdentifier();
            if (n is null) throw Error($"expected a name in the output list, found {Describe()}", "write e.g. '[PQ, PV, REF] = idx_bus;'");
            names.Add(n);
        }
        Expect('=', "after the output list");
        string? fn = ReadIdentifier();
        if (fn is null || !IdxTables.Functions.TryGetValue(fn, out var values))
            throw Error($"unsupported function '{fn}' on the right of a multiple assignment", "only idx_bus, idx_brch, idx_gen and idx_cost are understood", line);
        if (names.Count > values.Length)
            throw Error($"{fn} returns {values.Length} values but {names.Count} names are assigned", "remove the extra names", line);
        for (int i = 0; i < names.Count; i++) _vars[names[i]] = values[i];
        EndStatement();
    }

    private void FieldAssignment(string field, int line)
    {
        SkipBlanks(false);
        switch (Peek())
        {
            case '[':
                _pos++;
                Matrices[field] = MatrixLiteral(field, line);
                EndStatement();
                return;
            case '{':
                _pos++;
                Cells[field] = (CellLiteral(field), line);
                EndStatement();
                return;
            case '\'' or '"':
                Strings[field] = (StringLiteral(), line);
                EndStatement();
                return;
            default:
                var v = Expression();
                if (!v.IsScalar) throw Error($"mpc.{field} must be a scalar here", "assign a number, a matrix in [ ], or a cell array in { }");
                Scalars[field] = (v.Data[0], line);
                EndStatement();
                return;
        }
    }

    private string StringLiteral()
    {
        char quote = Peek();
        _pos++;
        var sb = new System.Text.StringBuilder();
        while (true)
        {
            if (AtEnd || Peek() == '\n') throw Error("unterminated string", $"close the string with {quote}");
            char c = Peek();
            _pos++;
            if (c == quote)
            {
                if (Peek() == quote) { sb.Append(quote); _pos++; continue; }
                return sb.ToString();
            }
            sb.Append(c);
        }
    }

    private List<string> CellLiteral(string field)
    {
        var items = new List<string>();
        while (true)
        {
            SkipBlanks(true);
            char c = Peek();
            if (c == ';' || c == ',') { _pos++; continue; }
            if (c == '}') { _pos++; return items; }
            if (c == '\'' || c == '"') { items.Add(StringLiteral()); continue; }
            if (AtEnd) throw Error($"mpc.{field} = {{ is never closed", "end the cell array with '};'");
            throw Error($"mpc.{field}: expected a quoted string in the cell array, found {Describe()}", "write one 'text' per row");
        }
    }

    private RawMatrix MatrixLiteral(string field, int line)
    {
        var m = new RawMatrix(field, line);
        var row = new List<double>();
        int rowLine = _line;
        void FinishRow()
        {
            if (row.Count == 0) return;
            if (m.Rows.Count > 0 && row.Count != m.Cols)
                throw Error($"mpc.{field} row {m.Rows.Count + 1} has {row.Count} columns but row 1 has {m.Cols}",
                    "every row of a matrix needs the same number of columns", rowLine);
            m.Rows.Add(row.ToArray());
            m.RowLines.Add(rowLine);
            row.Clear();
        }
        while (true)
        {
            SkipBlanks(false);
            if (AtEnd) throw Error($"mpc.{field} = [ is never closed", "end the matrix with '];'", line);
            char c = Peek();
            if (c == ']') { _pos++; FinishRow(); return m; }
            if (c == ';') { _pos++; FinishRow(); rowLine = _line; continue; }
            if (c == '\n') { ConsumeNewline(); FinishRow(); rowLine = _line; continue; }
            if (c == ',') { _pos++; continue; }
            int start = _pos;
            while (!AtEnd && " \t\r\n,;]%".IndexOf(Peek()) < 0) _pos++;
            string cell = _text[start.._pos];
            if (row.Count == 0) rowLine = _line;
            row.Add(ParseCell(cell, field, m.Rows.Count + 1, row.Count + 1));
        }
    }

    private double ParseCell(string cell, string field, int row, int col)
    {
        if (double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out double v)) return v;
        string s = cell.TrimStart('+', '-');
        bool neg = cell.StartsWith('-');
        if (s is "Inf" or "inf") return neg ? double.NegativeInfinity : double.PositiveInfinity;
        if (s is "NaN" or "nan") return double.NaN;
        if (_vars.TryGetValue(s, out double named)) return neg ? -named : named;
        throw Error($"mpc.{field} row {row} column {col}: '{cell}' is not a number",
            "use plain numbers (scientific notation like 1.5e-3 is fine) separated by blanks or commas");
    }

    /// <summary><c>mpc.field(rows, cols) = expr;</c></summary>
    private void BlockAssignment(string field, int line)
    {
        if (!Matrices.TryGetValue(field, out var m))
            throw Error($"mpc.{field} is assigned by index before it is defined", "define the matrix first", line);
        var (rows, cols) = IndexPair(m);
        Expect('=', $"after mpc.{field}(...)");
        var v = Expression();
        if (!v.IsScalar && (v.R != rows.Length || v.C != cols.Length))
            throw Error($"the right side is {v.R}x{v.C} but mpc.{field}(...) selects {rows.Length}x{cols.Length}",
                "make both sides the same size", line);
        for (int i = 0; i < rows.Length; i++)
            for (int j = 0; j < cols.Length; j++)
                m.Rows[rows[i]][cols[j]] = v.IsScalar ? v.Data[0] : v.Data[i * v.C + j];
        EndStatement();
    }

    private (int[] Rows, int[] Cols) IndexPair(RawMatrix m)
    {
        Expect('(', $"after mpc.{m.Name}");
        var rows = Selector(m.Rows.Count, $"row of mpc.{m.Name}");
        Expect(',', $"between the row and column selectors of mpc.{m.Name}");
        var cols = Selector(m.Cols, $"column of mpc.{m.Name}");
        Expect(')', $"after the selectors of mpc.{m.Name}");
        return (rows, cols);
    }

    private int[] Selector(int size, string what)
    {
        SkipBlanks(false);
        if (Peek() == ':')
        {
            _pos++;
            return Enumerable.Range(0, size).ToArray();
        }
        var saved = _end;
        _end = size;
        var v = Expression();
        _end = saved;
        var idx = new int[v.Data.Length];
        for (int k = 0; k < idx.Length; k++)
        {
            double d = v.Data[k];
            if (d != Math.Floor(d) || d < 1 || d > size)
                throw Error($"index {d} is not a valid {what} (1..{size})", "use 1-based indices inside the matrix");
            idx[k] = (int)d - 1;
        }
        return idx;
    }

    private double? _end;

    // ---------------------------------------------------------------- expressions

    private readonly record struct Val(int R, int C, double[] Data)
    {
        public bool IsScalar => R == 1 && C == 1;
        public static Val Scalar(double d) => new(1, 1, [d]);
    }

    private Val Expression()
    {
        var left = Term();
        while (true)
        {
            SkipBlanks(false);
            char c = Peek();
            if (c != '+' && c != '-') return left;
            _pos++;
            var right = Term();
            left = Elementwise(left, right, c == '+' ? (a, b) => a + b : (a, b) => a - b);
        }
    }

    private Val Term()
    {
        var left = Unary();
        while (true)
        {
            SkipBlanks(false);
            char c = Peek();
            bool dot = c == '.' && (Peek(1) == '*' || Peek(1) == '/');
            if (dot) { _pos++; c = Peek(); }
            if (c != '*' && c != '/') return left;
            _pos++;
            var right = Unary();
            if (!dot && !left.IsScalar && !right.IsScalar)
                throw Error("matrix products and divisions are not supported", "use element-wise .* and ./ or a scalar operand");
            left = Elementwise(left, right, c == '*' ? (a, b) => a * b : (a, b) => a / b);
        }
    }

    private Val Unary()
    {
        SkipBlanks(false);
        if (Peek() == '-') { _pos++; var v = Unary(); return Elementwise(Val.Scalar(0), v, (a, b) => a - b); }
        if (Peek() == '+') { _pos++; return Unary(); }
        return Power();
    }

    private Val Power()
    {
        var b = Primary();
        SkipBlanks(false);
        bool dot = Peek() == '.' && Peek(1) == '^';
        if (dot) _pos++;
        if (Peek() != '^') return b;
        _pos++;
        var e = Unary();
        if (!dot && !b.IsScalar) throw Error("matrix powers are not supported", "use element-wise .^");
        return Elementwise(b, e, Math.Pow);
    }

    private Val Elementwise(Val a, Val b, Func<double, double, double> op)
    {
        if (a.IsScalar && b.IsScalar) return Val.Scalar(op(a.Data[0], b.Data[0]));
        if (!a.IsScalar && !b.IsScalar && (a.R != b.R || a.C != b.C))
            throw Error($"sizes {a.R}x{a.C} and {b.R}x{b.C} do not agree", "use operands of the same size");
        var shape = a.IsScalar ? b : a;
        var d = new double[shape.Data.Length];
        for (int k = 0; k < d.Length; k++)
            d[k] = op(a.IsScalar ? a.Data[0] : a.Data[k], b.IsScalar ? b.Data[0] : b.Data[k]);
        return new Val(shape.R, shape.C, d);
    }

    private Val Primary()
    {
        SkipBlanks(false);
        char c = Peek();
        if (c == '(')
        {
            _pos++;
            var v = Expression();
            Expect(')', "to close the parenthesis");
            return v;
        }
        if (c == '[')
        {
            _pos++;
            var items = new List<double>();
            while (true)
            {
                SkipBlanks(false);
                if (Peek() == ',') { _pos++; continue; }
                if (Peek() == ']') { _pos++; break; }
                if (AtEnd || Peek() == '\n') throw Error("unterminated [ list", "close it with ]");
                items.AddRange(Unary().Data);
            }
            return new Val(1, items.Count, items.ToArray());
        }
        if (char.IsDigit(c) || (c == '.' && char.IsDigit(Peek(1))))
        {
            int start = _pos;
            while (char.IsDigit(Peek()) || Peek() == '.') _pos++;
            if (Peek() is 'e' or 'E' && (char.IsDigit(Peek(1)) || ((Peek(1) is '+' or '-') && char.IsDigit(Peek(2)))))
            {
                _pos += 2;
                while (char.IsDigit(Peek())) _pos++;
            }
            string num = _text[start.._pos];
            if (!double.TryParse(num, NumberStyles.Float, CultureInfo.InvariantCulture, out double d))
                throw Error($"'{num}' is not a number", "write numbers like 12, 0.5 or 1e-3");
            return Val.Scalar(d);
        }
        string? id = ReadIdentifier();
        if (id is null) throw Error($"expected a value but found {Describe()}", "check the expression");
        if (id == _structName && Peek() == '.')
        {
            _pos++;
            string field = ReadIdentifier() ?? throw Error("expected a field name after 'mpc.'", "write e.g. mpc.bus(1, BASE_KV)");
            if (Scalars.TryGetValue(field, out var sc)) return Val.Scalar(sc.Value);
            if (!Matrices.TryGetValue(field, out var m)) throw Error($"mpc.{field} is used before it is defined", "define it first");
            var (rows, cols) = IndexPair(m);
            var data = new double[rows.Length * cols.Length];
            for (int i = 0; i < rows.Length; i++)
                for (int j = 0; j < cols.Length; j++)
                    data[i * cols.Length + j] = m.Rows[rows[i]][cols[j]];
            return new Val(rows.Length, cols.Length, data);
        }
        if (id == "end" && _end is double e) return Val.Scalar(e);
        if (id is "Inf" or "inf") return Val.Scalar(double.PositiveInfinity);
        if (id == "pi") return Val.Scalar(Math.PI);
        if (_vars.TryGetValue(id, out double value)) return Val.Scalar(value);
        throw Error($"unknown name '{id}'", "only numbers, mpc fields, idx_* column names and scalar variables defined earlier are understood");
    }
}

/// <summary>The values returned by MATPOWER's idx_bus, idx_brch, idx_gen and idx_cost, in output order.</summary>
internal static class IdxTables
{
    private static readonly (string, double)[] Bus =
    [
        ("PQ", 1), ("PV", 2), ("REF", 3), ("NONE", 4), ("BUS_I", 1), ("BUS_TYPE", 2), ("PD", 3), ("QD", 4),
        ("GS", 5), ("BS", 6), ("BUS_AREA", 7), ("VM", 8), ("VA", 9), ("BASE_KV", 10), ("ZONE", 11), ("VMAX", 12),
        ("VMIN", 13), ("LAM_P", 14), ("LAM_Q", 15), ("MU_VMAX", 16), ("MU_VMIN", 17),
    ];

    private static readonly (string, double)[] Branch =
    [
        ("F_BUS", 1), ("T_BUS", 2), ("BR_R", 3), ("BR_X", 4), ("BR_B", 5), ("RATE_A", 6), ("RATE_B", 7),
        ("RATE_C", 8), ("TAP", 9), ("SHIFT", 10), ("BR_STATUS", 11), ("PF", 14), ("QF", 15), ("PT", 16),
        ("QT", 17), ("MU_SF", 18), ("MU_ST", 19), ("ANGMIN", 12), ("ANGMAX", 13), ("MU_ANGMIN", 20), ("MU_ANGMAX", 21),
    ];

    private static readonly (string, double)[] Gen =
    [
        ("GEN_BUS", 1), ("PG", 2), ("QG", 3), ("QMAX", 4), ("QMIN", 5), ("VG", 6), ("MBASE", 7), ("GEN_STATUS", 8),
        ("PMAX", 9), ("PMIN", 10), ("MU_PMAX", 22), ("MU_PMIN", 23), ("MU_QMAX", 24), ("MU_QMIN", 25), ("PC1", 11),
        ("PC2", 12), ("QC1MIN", 13), ("QC1MAX", 14), ("QC2MIN", 15), ("QC2MAX", 16), ("RAMP_AGC", 17),
        ("RAMP_10", 18), ("RAMP_30", 19), ("RAMP_Q", 20), ("APF", 21),
    ];

    private static readonly (string, double)[] Cost =
    [
        ("PW_LINEAR", 1), ("POLYNOMIAL", 2), ("MODEL", 1), ("STARTUP", 2), ("SHUTDOWN", 3), ("NCOST", 4), ("COST", 5),
    ];

    public static readonly Dictionary<string, double[]> Functions = new()
    {
        ["idx_bus"] = Bus.Select(x => x.Item2).ToArray(),
        ["idx_brch"] = Branch.Select(x => x.Item2).ToArray(),
        ["idx_gen"] = Gen.Select(x => x.Item2).ToArray(),
        ["idx_cost"] = Cost.Select(x => x.Item2).ToArray(),
    };

    public static IEnumerable<(string, double)> All => Bus.Concat(Branch).Concat(Gen).Concat(Cost);
}
