using System.Globalization;
using System.Net;
using System.Text;

namespace OpenTE.Analytics;

/// <summary>
/// The comparison as one self-contained HTML page (tables and inline SVG plots, no scripts, no external files) plus the
/// same plots as PNG and SVG files and a CSV per design (docs/fairness.md, "How to read the report").
/// </summary>
public static class FairnessReport
{
    public const string Html = "report.html";
    private const int W = 900, H = 480;

    /// <summary>Writes the report into <paramref name="dir"/> and returns the files written (the HTML first). <paramref name="story"/> adds sections (heading, HTML) before the comparison.</summary>
    public static IReadOnlyList<string> Write(FairnessComparison c, string dir, IEnumerable<(string Heading, string Html)>? story = null)
    {
        Directory.CreateDirectory(dir);
        var files = new List<string> { Path.Combine(dir, Html) };
        var plots = new List<(string Id, string Title, ScottPlot.Plot Plot)>
        {
            ("lorenz", "Lorenz curves of participant surplus (clipped at 0)", Lorenz(c)),
            ("gini-welfare", "Gini and welfare per design", GiniWelfare(c)),
            ("prices", "Average price paid by buyers, per interval (log scale: 1 = 10, 2 = 100, 3 = 1 000, 4 = 10 000 $/MWh)", Prices(c)),
            ("price-distribution", "Price distribution: the average price each prosumer paid for what it bought, sorted (log scale as above)", PriceDistribution(c)),
            ("surplus", "Surplus distribution: every participant's surplus, sorted (Pen's parade)", Surplus(c)),
        };
        var svgs = new Dictionary<string, string>();
        foreach (var (id, _, plot) in plots)
        {
            string svg = plot.GetSvgHtml(W, H);
            svgs[id] = svg;
            File.WriteAllText(Path.Combine(dir, id + ".svg"), svg);
            plot.SavePng(Path.Combine(dir, id + ".png"), W, H);
            files.Add(Path.Combine(dir, id + ".svg"));
            files.Add(Path.Combine(dir, id + ".png"));
        }
        foreach (var d in c.Designs)
        {
            string csv = Path.Combine(dir, $"surplus-{d.Name}.csv");
            File.WriteAllText(csv, FairnessComparison.Csv(d));
            files.Add(csv);
        }
        File.WriteAllText(files[0], Page(c, plots.Select(p => (p.Id, p.Title, svgs[p.Id])), story ?? []));
        return files;
    }

    private static string F(double v, string fmt = "0.00")
    {
        if (!double.IsFinite(v)) return "–";
        string s = v.ToString(fmt, CultureInfo.InvariantCulture);
        return s.StartsWith('-') && s.Trim('-', '0', '.').Length == 0 ? s[1..] : s; // no "-0.00"
    }
    private static string E(string s) => WebUtility.HtmlEncode(s);

    private static string Page(FairnessComparison c, IEnumerable<(string Id, string Title, string Svg)> plots, IEnumerable<(string Heading, string Html)> story)
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>").Append(E(c.Title)).Append("</title>\n<style>")
          .Append("body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1000px;color:#222}")
          .Append("table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}")
          .Append("th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}figure{margin:1.5em 0}")
          .Append("figure svg{width:100%;height:auto;border:1px solid #eee}figcaption{font-weight:600;margin-bottom:.3em}")
          .Append("</style></head><body>\n");
        sb.Append("<h1>").Append(E(c.Title)).Append("</h1>\n");
        foreach (var (heading, html) in story) sb.Append("<h2>").Append(E(heading)).Append("</h2>\n").Append(html).Append('\n');
        sb.Append("<h2>Market designs compared</h2>\n<p>Welfare is Σ value of served energy at the bids − Σ cost at the offers ($ over the horizon; ")
          .Append("the rows of the surplus account — participants, grid rent, carbon — add up to it). Gini, Jain and the top-10 % share are over ")
          .Append("the participants' surpluses; Gini is shown with losses clipped at 0 and shifted by the worst loss (docs/fairness.md).</p>\n");
        sb.Append("<table id=\"designs\"><tr><th>design</th><th>welfare ($)</th><th>participants' surplus ($)</th><th>grid rent ($)</th><th>carbon ($)</th>")
          .Append("<th>Gini (clipped)</th><th>Gini (shifted)</th><th>Jain</th><th>top 10 %</th><th>losing money</th></tr>\n");
        foreach (var d in c.Designs)
            sb.Append($"<tr><td>{E(d.Name)}</td><td>{F(d.Welfare)}</td><td>{F(d.PopulationSurplus)}</td><td>{F(d.Account.GridRent)}</td><td>{F(d.Account.CarbonMoney)}</td>")
              .Append($"<td>{F(d.Measures.GiniClipped, "0.000")}</td><td>{F(d.Measures.GiniShifted, "0.000")}</td><td>{F(d.Measures.Jain, "0.000")}</td>")
              .Append($"<td>{F(100 * d.Measures.Top10Share, "0.0")} %</td><td>{d.Measures.Negative} of {d.Measures.Count}</td></tr>\n");
        sb.Append("</table>\n");
        foreach (var (id, title, svg) in plots)
            sb.Append($"<figure id=\"fig-{id}\"><figcaption>{E(title)}</figcaption>\n{svg}\n</figure>\n");
        sb.Append("<h2>Participants</h2>\n<p>Surplus per participant and design ($); the full tables are the CSV files beside this page.</p>\n");
        sb.Append("<table id=\"participants\"><tr><th>participant</th><th>role</th>");
        foreach (var d in c.Designs) sb.Append("<th>").Append(E(d.Name)).Append("</th>");
        sb.Append("</tr>\n");
        var first = c.Designs.FirstOrDefault();
        if (first is not null)
        {
            var rows = first.Population.Select((p, i) => (p, i)).OrderByDescending(x => Math.Abs(x.p.Surplus)).Take(40).OrderBy(x => x.i);
            foreach (var (p, i) in rows)
            {
                sb.Append($"<tr><td>{E(p.Participant)}</td><td>{p.Role.ToString().ToLowerInvariant()}</td>");
                foreach (var d in c.Designs) sb.Append($"<td>{F(d.Population[i].Surplus)}</td>");
                sb.Append("</tr>\n");
            }
            if (first.Population.Count > 40) sb.Append($"<tr><td colspan=\"{2 + c.Designs.Count}\">… {first.Population.Count - 40} more (the 40 with the largest surplus in the first design shown)</td></tr>\n");
        }
        sb.Append("</table>\n</body></html>\n");
        return sb.ToString();
    }

    private static ScottPlot.Plot Lorenz(FairnessComparison c)
    {
        var p = new ScottPlot.Plot();
        var eq = p.Add.Line(0, 0, 1, 1);
        eq.LegendText = "equality";
        eq.LinePattern = ScottPlot.LinePattern.Dashed;
        eq.Color = ScottPlot.Colors.Gray;
        foreach (var d in c.Designs)
        {
            var s = p.Add.Scatter(d.Measures.Lorenz.Select(x => x.PopulationShare).ToArray(), d.Measures.Lorenz.Select(x => x.ValueShare).ToArray());
            s.MarkerSize = 0;
            s.LineWidth = 2;
            s.LegendText = $"{d.Name} (G = {F(d.Measures.GiniClipped, "0.000")})";
        }
        p.Title("Lorenz curves");
        p.XLabel("share of participants (poorest first)");
        p.YLabel("share of total surplus");
        p.Axes.SetLimits(0, 1, 0, 1);
        p.ShowLegend(ScottPlot.Alignment.UpperLeft);
        return p;
    }

    private static ScottPlot.Plot GiniWelfare(FairnessComparison c)
    {
        var p = new ScottPlot.Plot();
        double maxW = c.Designs.Select(d => Math.Abs(d.Welfare)).DefaultIfEmpty(1).Max();
        double scale = maxW > 0 ? 1 / maxW : 1;
        var bars = new List<ScottPlot.Bar>();
        for (int i = 0; i < c.Designs.Count; i++)
        {
            var d = c.Designs[i];
            bars.Add(new ScottPlot.Bar { Position = 3 * i, Value = d.Measures.GiniClipped, FillColor = ScottPlot.Colors.SteelBlue, Label = F(d.Measures.GiniClipped, "0.000") });
            bars.Add(new ScottPlot.Bar { Position = 3 * i + 1, Value = d.Welfare * scale, FillColor = ScottPlot.Colors.Orange, Label = F(d.Welfare, "0") });
        }
        var bp = p.Add.Bars(bars);
        bp.ValueLabelStyle.FontSize = 11;
        p.Axes.Bottom.SetTicks([.. c.Designs.Select((_, i) => 3.0 * i + 0.5)], [.. c.Designs.Select(d => d.Name)]);
        p.Legend.ManualItems.Add(new ScottPlot.LegendItem { LabelText = "Gini (clipped)", FillColor = ScottPlot.Colors.SteelBlue });
        p.Legend.ManualItems.Add(new ScottPlot.LegendItem { LabelText = $"welfare / {F(maxW, "0")} $", FillColor = ScottPlot.Colors.Orange });
        p.ShowLegend(ScottPlot.Alignment.UpperRight);
        p.Title("Gini and welfare per design");
        p.Axes.SetLimitsY(Math.Min(0, c.Designs.Select(d => d.Welfare * scale).DefaultIfEmpty(0).Min() * 1.1), 1.25);
        return p;
    }

    private static ScottPlot.Plot Prices(FairnessComparison c)
    {
        var p = new ScottPlot.Plot();
        foreach (var d in c.Designs)
        {
            var xs = Enumerable.Range(0, d.BuyPriceByInterval.Count).Select(t => t * c.IntervalHours).ToArray();
            var s = p.Add.Scatter(xs, [.. d.BuyPriceByInterval.Select(Log)]);
            s.MarkerSize = 0;
            s.LineWidth = 2;
            s.LegendText = d.Name;
        }
        p.Title("Average price paid by buyers");
        p.XLabel(c.Start is { } st ? $"hours after {st:yyyy-MM-dd HH:mm zzz}" : "hours");
        p.YLabel(LogLabel);
        p.ShowLegend(ScottPlot.Alignment.UpperLeft);
        return p;
    }

    // prices span 30 $/MWh (a truthful bidder at a uniform price) to 10 000 $/MWh (a critical load paying its bid): a log scale
    private static double Log(double price) => double.IsFinite(price) ? Math.Log10(Math.Max(price, 1)) : double.NaN;
    private const string LogLabel = "log10($/MWh): 2 = 100, 3 = 1000";

    private static ScottPlot.Plot PriceDistribution(FairnessComparison c)
    {
        var p = new ScottPlot.Plot();
        foreach (var d in c.Designs)
        {
            var ys = d.BuyPriceByParticipant.Select(Log).ToArray();
            var xs = Enumerable.Range(0, ys.Length).Select(i => ys.Length > 1 ? (double)i / (ys.Length - 1) : 0).ToArray();
            var s = p.Add.Scatter(xs, ys);
            s.MarkerSize = 3;
            s.LineWidth = 1;
            s.LegendText = d.Name;
        }
        p.Title("Average price paid per prosumer (buyers), sorted");
        p.XLabel("share of buying prosumers");
        p.YLabel(LogLabel);
        p.ShowLegend(ScottPlot.Alignment.UpperLeft);
        return p;
    }

    private static ScottPlot.Plot Surplus(FairnessComparison c)
    {
        // a few consumers valuing energy at the value of lost load dwarf everyone else: a symmetric log scale keeps the sign
        var p = new ScottPlot.Plot();
        foreach (var d in c.Designs)
        {
            var ys = d.Population.Select(x => x.Surplus).Order().Select(v => Math.Sign(v) * Math.Log10(1 + Math.Abs(v))).ToArray();
            var xs = Enumerable.Range(0, ys.Length).Select(i => ys.Length > 1 ? (double)i / (ys.Length - 1) : 0).ToArray();
            var s = p.Add.Scatter(xs, ys);
            s.MarkerSize = 3;
            s.LineWidth = 1;
            s.LegendText = d.Name;
        }
        p.Title("Participant surplus, sorted");
        p.XLabel("share of participants");
        p.YLabel("sign(s)·log10(1 + |s|), s in $");
        p.ShowLegend(ScottPlot.Alignment.UpperLeft);
        return p;
    }
}
