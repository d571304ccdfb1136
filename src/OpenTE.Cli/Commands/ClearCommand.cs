using OpenTE.Grid.Model;
using OpenTE.Market.Outcome;
using System.ComponentModel;
using OpenTE.Market.Auction;
using OpenTE.Market.Bids;
using OpenTE.Market.DcOpf;
using Spectre.Console;
using Spectre.Console.Cli;
using Spectre.Console.Rendering;

namespace OpenTE.Cli.Commands;

public sealed class ClearSettings : CaseSettings
{
    [CommandOption("--bids <FILE>")]
    [Description("Bids CSV: participant,bus,side,price,quantity[[,block]] (docs/bids-csv.md).")]
    public string Bids { get; init; } = "";

    [CommandOption("--mechanism <MECHANISM>")]
    [Description("dcopf (network-constrained, with the case's generators and load; default), uniform or pay-as-bid (copper plate, bids only).")]
    [DefaultValue("dcopf")]
    public string Mechanism { get; init; } = "dcopf";

    [CommandOption("--voll <PRICE>")]
    [Description("dcopf: value of lost load in $/MWh (load may be shed at this price).")]
    public double? Voll { get; init; }

    public override ValidationResult Validate() =>
        Bids.Length == 0 ? ValidationResult.Error("--bids FILE is required")
        : Mechanism is not ("dcopf" or "uniform" or "pay-as-bid") ? ValidationResult.Error("--mechanism must be dcopf, uniform or pay-as-bid")
        : Voll is double v && !(v > 0 && v <= 1e6) ? ValidationResult.Error("--voll must be a positive price in $/MWh, at most 1000000")
        : ValidationResult.Success();
}

/// <summary>One participant's totals in a clearing.</summary>

public sealed class ClearCommand : Command<ClearSettings>
{
    public override int Execute(CommandContext context, ClearSettings s, CancellationToken cancellationToken)
    {
        var net = CaseLocator.Load(s.Case).Network;
        var bids = BidFile.Read(s.Bids, net);
        List<(Bid Bid, double Accepted, double Price)> outcome;
        string status;
        double? uniformPrice = null;
        double welfare;
        DcOpfResult? opf = null;
        ClearingOutcome cleared;
        if (s.Mechanism == "dcopf")
        {
            opf = DcOpfSolver.Solve(net, new DcOpfOptions { Bids = bids, ValueOfLostLoad = s.Voll });
            status = opf.Status.Word();
            outcome = opf.Bids.Select(b => (b.Bid, b.AcceptedMw, b.Price)).ToList();
            welfare = opf.Welfare;
            cleared = opf.ToOutcome();
        }
        else
        {
            var r = DoubleAuction.Clear(bids, s.Mechanism == "uniform" ? PricingRule.UniformMidpoint : PricingRule.PayAsBid);
            status = "optimal";
            outcome = r.Accepted.Select(a => (a.Bid, a.AcceptedMw, a.Price)).ToList();
            uniformPrice = s.Mechanism == "uniform" ? r.ClearingPrice : null;
            welfare = r.Welfare;
            cleared = r.ToOutcome();
        }
        var participants = cleared.Participants(bids.Select(b => b.Participant));

        if (s.Json)
        {
            Output.Emit(Output.Json(w =>
            {
                w.WriteStartObject();
                w.WriteString("case", net.Name);
                w.WriteString("mechanism", s.Mechanism);
                w.WriteString("status", status);
                if (uniformPrice is double p) w.Number("clearingPrice", p); else w.WriteNull("clearingPrice");
                w.Number("volume", outcome.Where(o => o.Bid.Side == Side.Buy).Sum(o => o.Accepted));
                w.Number("welfare", welfare);
                w.WriteStartArray("participants");
                foreach (var ps in participants)
                {
                    w.WriteStartObject();
                    w.WriteString("participant", ps.Participant);
                    w.Number("boughtMw", ps.BoughtMw);
                    w.Number("soldMw", ps.SoldMw);
                    w.Number("payment", ps.Payment);
                    w.Number("revenue", ps.Revenue);
                    w.Number("surplus", ps.Surplus);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteStartArray("bids");
                foreach (var o in outcome)
                {
                    w.WriteStartObject();
                    w.WriteNumber("line", o.Bid.Line);
                    w.WriteString("participant", o.Bid.Participant);
                    w.WriteNumber("bus", o.Bid.Bus);
                    w.WriteString("side", o.Bid.Side == Side.Buy ? "buy" : "sell");
                    w.Number("price", o.Bid.Price);
                    w.Number("quantity", o.Bid.Quantity);
                    w.Number("acceptedMw", o.Accepted);
                    w.Number("settlementPrice", o.Price);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                if (opf is not null && opf.Status == ClearingStatus.Optimal)
                {
                    w.WriteStartArray("prices");
                    foreach (var b in opf.Buses)
                    {
                        w.WriteStartObject();
                        w.WriteNumber("bus", b.Id);
                        w.Number("lmp", b.Lmp);
                        w.Number("lmpEnergy", b.LmpEnergy);
                        w.Number("lmpCongestion", b.LmpCongestion);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                    w.WriteStartArray("bindingBranches");
                    foreach (var l in opf.Branches.Where(l => l.Binding))
                    {
                        w.WriteStartObject();
                        w.WriteNumber("index", l.Index);
                        w.WriteNumber("from", l.From);
                        w.WriteNumber("to", l.To);
                        w.Number("pf", l.Pf);
                        w.Number("muSf", l.MuSf);
                        w.Number("muSt", l.MuSt);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                    w.Number("congestionRent", opf.CongestionRent);
                }
                w.WriteStartArray("messages");
                foreach (var m in opf?.Messages ?? []) w.WriteStringValue(m);
                w.WriteEndArray();
                w.WriteEndObject();
            }), s.Out);
        }
        else
        {
            var items = new List<IRenderable>
            {
                new Markup($"[bold]{Markup.Escape(net.Name)}[/]: {s.Mechanism} clearing of {bids.Count} bids — {Markup.Escape(status)}; " +
                    $"welfare {Output.F(welfare, "0.##")} $/h" + (uniformPrice is double up ? $"; clearing price {Output.F(up)} $/MWh" : "") + "\n"),
            };
            foreach (var m in opf?.Messages ?? []) items.Add(new Markup($"  {Markup.Escape(m)}\n"));
            items.Add(Output.Table("Participants", "participant", "bought (MW)", "sold (MW)", "pays ($/h)", "receives ($/h)", "surplus ($/h)")
                .Rows(participants, p => [p.Participant, Output.F(p.BoughtMw), Output.F(p.SoldMw), Output.F(p.Payment, "0.##"), Output.F(p.Revenue, "0.##"), Output.F(p.Surplus, "0.##")]));
            if (opf is not null && opf.Status == ClearingStatus.Optimal)
            {
                var busesWithBids = bids.Select(b => b.Bus).ToHashSet();
                items.Add(Output.Table("Prices at buses with bids ($/MWh)", "bus", "LMP", "energy", "congestion")
                    .Rows(opf.Buses.Where(b => busesWithBids.Contains(b.Id)).ToList(), b => [b.Id.ToString(), Output.F(b.Lmp), Output.F(b.LmpEnergy), Output.F(b.LmpCongestion)]));
                items.Add(WelfareTable(net, opf, participants.Sum(p => p.Surplus), s.Voll));
                var binding = opf.Branches.Where(l => l.Binding).ToList();
                items.Add(binding.Count == 0 ? new Markup("No binding branch limits.\n")
                    : Output.Table("Binding branches", "#", "from", "to", "flow (MW)", "muSf", "muSt")
                        .Rows(binding, l => [l.Index.ToString(), l.From.ToString(), l.To.ToString(), Output.F(l.Pf), Output.F(l.MuSf), Output.F(l.MuSt)]));
            }
            Output.Render(items, s.Out);
        }
        if (status != "optimal")
        {
            CliApp.Io.Err.WriteLine($"{status}: {string.Join("; ", opf?.Messages ?? [])}");
            return 1;
        }
        return 0;
    }

    /// <summary>
    /// Where the welfare figure comes from (issue #17: "welfare −11,264 $/h" next to positive surpluses was unexplained): the
    /// case's own generators and fixed demand clear with the bids. welfare = Σ bid values − Σ offer costs − generator costs − VoLL·shed
    /// = bidders' surplus + case generators' surplus + congestion rent − what the case's fixed demand pays − VoLL·shed,
    /// since the fixed demand (Pd) pays the LMP but has no bid value in the objective.
    /// </summary>
    internal static Table WelfareTable(Network net, DcOpfResult opf, double biddersSurplus, double? voll)
    {
        double genSurplus = opf.Generators.Sum(g => opf.Lmp(g.Bus) * g.Pg - g.CostPerHour);
        double fixedPays = opf.Buses.Select((b, i) => b.Lmp * (net.Buses[i].Pd - b.ShedMw)).Sum();
        double shed = (voll ?? 0) * opf.Buses.Sum(b => b.ShedMw);
        double fixedMw = net.Buses.Sum(b => b.Pd);
        var rows = new List<(string, double)>
        {
            ("bidders' surplus (the table above)", biddersSurplus),
            ($"case generators' surplus (revenue at the LMP − cost; {opf.Generators.Count(g => g.Pg != 0)} dispatched)", genSurplus),
            ("congestion rent (kept by the grid operator)", opf.MerchandisingSurplus),
            ($"− payments of the case's fixed demand ({fixedMw:0.#} MW of Pd, no bid value)", -fixedPays),
        };
        if (shed != 0) rows.Add(("− value of lost load × shed", -shed));
        rows.Add(("= welfare (Σ bid values − Σ offer and generator costs)", opf.Welfare));
        return Output.Table("Welfare ($/h): the case's generators and fixed demand clear with the bids", "part", "$/h")
            .Rows(rows, r => [r.Item1, Output.F(r.Item2, "0.##")]);
    }
}
