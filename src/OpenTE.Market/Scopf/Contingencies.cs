using OpenTE.Numerics;
using System.Globalization;
using OpenTE.Grid;
using OpenTE.Grid.Model;
using OpenTE.Grid.Input;

namespace OpenTE.Market.Scopf;

public enum ContingencyKind { Branch, Generator }

/// <summary>A single-element outage: a branch or a generator (0-based index in case-file order).</summary>
public sealed record Contingency(string Label, ContingencyKind Kind, int Index)
{
    public override string ToString() => $"{Label} ({(Kind == ContingencyKind.Branch ? "branch" : "generator")} {Index + 1})";
}

/// <summary>The contingencies to secure against, and the outages left out because they island the network.</summary>
public sealed record ContingencySet(IReadOnlyList<Contingency> Secure, IReadOnlyList<Contingency> Islanding)
{
    /// <summary>Listed outages of elements that are already out of service in the case (nothing to lose).</summary>
    public IReadOnlyList<Contingency> AlreadyOut { get; init; } = [];
}

public static class Contingencies
{
    /// <summary>Every in-service branch whose outage does not island the network, and every in-service generator.</summary>
    public static ContingencySet Default(Network net)
    {
        var list = new List<Contingency>();
        for (int l = 0; l < net.Branches.Length; l++)
            if (net.Branches[l].InService) list.Add(new Contingency($"branch {l + 1}", ContingencyKind.Branch, l));
        for (int g = 0; g < net.Generators.Length; g++)
            if (net.Generators[g].InService) list.Add(new Contingency($"gen {g + 1}", ContingencyKind.Generator, g));
        return Split(net, list);
    }

    /// <summary>Separates the outages that island the network (bridges of the in-service graph).</summary>
    public static ContingencySet Split(Network net, IEnumerable<Contingency> all)
    {
        var bridges = Bridges(net);
        var secure = new List<Contingency>();
        var islanding = new List<Contingency>();
        var alreadyOut = new List<Contingency>();
        foreach (var c in all)
        {
            bool inService = c.Kind == ContingencyKind.Branch ? net.Branches[c.Index].InService : net.Generators[c.Index].InService;
            if (!inService) alreadyOut.Add(c);
            else (c.Kind == ContingencyKind.Branch && bridges.Contains(c.Index) ? islanding : secure).Add(c);
        }
        return new ContingencySet(secure, islanding) { AlreadyOut = alreadyOut };
    }

    /// <summary>Branches whose outage disconnects the in-service network (Tarjan's bridge search, iterative, O(n + m)).</summary>
    public static HashSet<int> Bridges(Network net)
    {
        int n = net.BusCount;
        var adj = new List<(int To, int Branch)>[n];
        for (int i = 0; i < n; i++) adj[i] = [];
        for (int l = 0; l < net.Branches.Length; l++)
        {
            var br = net.Branches[l];
            if (!br.InService) continue;
            int f = net.BusIndex[br.From], t = net.BusIndex[br.To];
            adj[f].Add((t, l));
            adj[t].Add((f, l));
        }
        var disc = new int[n];
        var low = new int[n];
        Arrays.Fill(disc, -1);
        var bridges = new HashSet<int>();
        int time = 0;
        var stack = new Stack<(int Node, int ParentBranch, int Next)>();
        for (int s = 0; s < n; s++)
        {
            if (disc[s] >= 0) continue;
            disc[s] = low[s] = time++;
            stack.Push((s, -1, 0));
            while (stack.Count > 0)
            {
                var (u, pb, next) = stack.Pop();
                if (next < adj[u].Count)
                {
                    stack.Push((u, pb, next + 1));
                    var (v, l) = adj[u][next];
                    if (l == pb) continue;
                    if (disc[v] < 0)
                    {
                        disc[v] = low[v] = time++;
                        stack.Push((v, l, 0));
                    }
                    else low[u] = Math.Min(low[u], disc[v]);
                }
                else if (stack.Count > 0)
                {
                    int parent = stack.Peek().Node;
                    low[parent] = Math.Min(low[parent], low[u]);
                    if (low[u] > disc[parent]) bridges.Add(pb);
                }
            }
        }
        return bridges;
    }

    /// <summary>Reads a MATPOWER contingency table (contab: label prob table row col chgtype newval) or a CSV <c>label,type,index</c>.</summary>
    public static ContingencySet Read(string path, Network net)
    {
        string text = InputFiles.ReadText(path);
        var list = path.EndsWith(".m", StringComparison.OrdinalIgnoreCase) ? ParseContab(text, path, net) : ParseCsv(text, path, net);
        return Split(net, list);
    }

    private static List<Contingency> ParseContab(string text, string file, Network net)
    {
        var list = new List<Contingency>();
        var lines = text.Split('\n');
        bool inTable = false;
        var rowsOfLabel = new Dictionary<string, int>();
        for (int n = 0; n < lines.Length; n++)
        {
            string line = lines[n];
            int pct = line.IndexOf('%');
            if (pct >= 0) line = line[..pct];
            line = line.Trim();
            if (!inTable) { if (line.Contains("= [")) inTable = true; continue; }
            if (line.StartsWith("];")) break;
            if (line.Length == 0) continue;
            var c = line.TrimEnd(';').Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            if (c.Length != 7)
                throw new InputException(file, n + 1, $"{c.Length} columns where a change table has 7 (label prob table row col chgtype newval)", "use MATPOWER's contab format");
            if (!int.TryParse(c[3], NumberStyles.Integer, CultureInfo.InvariantCulture, out int row) || row < 1)
                throw new InputException(file, n + 1, $"row '{c[3]}' is not a positive index", "give the 1-based row of the branch or generator");
            bool outage = c[5] is "CT_REP" or "1" && c[6] is "0";
            var kind = (c[2], c[4]) switch
            {
                ("CT_TBRCH", "BR_STATUS") or ("3", "11") => ContingencyKind.Branch,
                ("CT_TGEN", "GEN_STATUS") or ("2", "8") => ContingencyKind.Generator,
                _ => throw new InputException(file, n + 1, $"change '{c[2]} {c[4]}' is not a branch or generator status change", "only single branch or generator outages (status set to 0) are supported"),
            };
            if (!outage) throw new InputException(file, n + 1, "only outages (CT_REP to 0) are supported", "set the status to 0 with CT_REP");
            int count = kind == ContingencyKind.Branch ? net.Branches.Length : net.Generators.Length;
            if (row > count) throw new InputException(file, n + 1, $"{kind.ToString().ToLowerInvariant()} {row} does not exist (the case has {count})", "use a row of the case");
            if (rowsOfLabel.TryGetValue(c[0], out int firstLine))
                throw new InputException(file, n + 1, $"contingency {c[0]} has more than one change (also line {firstLine})", "only single-element (N-1) contingencies are supported");
            rowsOfLabel[c[0]] = n + 1;
            list.Add(new Contingency(c[0], kind, row - 1));
        }
        return list;
    }

    private static List<Contingency> ParseCsv(string text, string file, Network net)
    {
        var list = new List<Contingency>();
        foreach (var row in CsvTable.Parse(text, file, [["label", "type", "index"]]).Rows)
        {
            string type = row["type"];
            var kind = type.ToLowerInvariant() switch
            {
                "branch" => ContingencyKind.Branch,
                "generator" or "gen" => ContingencyKind.Generator,
                _ => throw row.Error("type", $"type '{CsvTable.Shorten(type)}' is neither branch nor generator", "write branch or generator"),
            };
            int count = kind == ContingencyKind.Branch ? net.Branches.Length : net.Generators.Length;
            if (!int.TryParse(row["index"], NumberStyles.Integer, CultureInfo.InvariantCulture, out int index) || index < 1 || index > count)
                throw row.Error("index", $"index '{CsvTable.Shorten(row["index"])}' is not a {type} of the case (1–{count})", "give the 1-based row in the case file");
            list.Add(new Contingency(row["label"], kind, index - 1));
        }
        return list;
    }
}
