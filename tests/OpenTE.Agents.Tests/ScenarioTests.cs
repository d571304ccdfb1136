using System.Text.Json;
using OpenTE.Grid.Tests;
using OpenTE.Grid.Input;

namespace OpenTE.Agents.Tests;

public class ScenarioTests
{
    private static string Example()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "examples", "microgrid-day.json"))) return Path.Combine(dir.FullName, "examples", "microgrid-day.json");
        throw new FileNotFoundException("examples/microgrid-day.json");
    }

    private static (Scenario, OpenTE.Grid.Model.Network) Load(string? text = null) =>
        text is null ? ScenarioFile.Read(Example(), TestData.Load) : ScenarioFile.Parse(JsonDocument.Parse(text).RootElement, "s.json", TestData.Load);

    [Fact]
    public void The_example_day_runs_with_an_afternoon_outage()
    {
        var (s, net) = Load();
        var r = ScenarioRunner.Run(s, net);
        Assert.Equal(96, r.Times.Count);
        Assert.Equal(12, r.Mode.Count(m => m == "island")); // 14:00–17:00 at 15 min
        for (int t = 0; t < 96; t++)
        {
            Assert.True(r.ServedMw[t] <= r.DemandMw[t] + 1e-9);
            if (r.Mode[t] == "island")
            {
                var m = s.Microgrid!;
                // the reserve is never sold as energy, critical load is served whenever the capacity allows
                Assert.True(r.GridFormingMw[t] <= m.GridFormingMw - m.ReserveMw + 1e-9);
                Assert.Equal(r.CriticalDemandMw[t], r.CriticalServedMw[t], 9);
                Assert.Equal(m.ReserveMw, r.ReserveMw[t]);
            }
        }
        // scarcity in the island: load is curtailed and the price climbs above every grid-connected price
        var islandT = Enumerable.Range(0, 96).Where(t => r.Mode[t] == "island").ToList();
        Assert.Contains(islandT, t => r.CurtailedMw[t] > 0.01);
        int bus18 = net.BusIndex[18];
        Assert.True(islandT.Min(t => r.Price[t][bus18]) > Enumerable.Range(0, 96).Where(t => r.Mode[t] == "grid").Max(t => r.Price[t][bus18]));
        // batteries stay within their limits; EVs get their energy by departure
        foreach (var b in s.Prosumers.OfType<BatteryAgent>())
            Assert.All(r.SocMwh[b.Id], v => Assert.InRange(v, b.Unit.EnergyMinMwh - 1e-9, b.Unit.EnergyMaxMwh + 1e-9));
        foreach (var ev in s.Prosumers.OfType<EvAgent>()) Assert.Equal(ev.EnergyMwh, ev.DeliveredMwh, 6);
        // flexible loads (09:00–18:00) lose part of their window to the outage, where they are curtailed before
        // the base load: they get no more than they asked for, and all of it where the window allowed
        foreach (var f in s.Prosumers.OfType<FlexibleLoadAgent>()) Assert.InRange(f.DeliveredMwh, 0.5 * f.EnergyMwh, f.EnergyMwh + 1e-9);
        Assert.Contains(s.Prosumers.OfType<FlexibleLoadAgent>(), f => Math.Abs(f.DeliveredMwh - f.EnergyMwh) < 1e-9);
    }

    [Fact]
    public void Energy_balances_in_every_interval()
    {
        var (s, net) = Load();
        var r = ScenarioRunner.Run(s, net);
        for (int t = 0; t < r.Times.Count; t++)
        {
            // prosumers' net + base loads (inside AgentNet) + the sources (substation or grid-forming unit) = 0
            double prosumers = r.AgentNetMw[t].Sum();
            Assert.True(prosumers <= 1e-6 || r.Mode[t] == "grid", "an island cannot export");
            if (r.Mode[t] == "island") Assert.Equal(0, prosumers + r.GridFormingMw[t], 6);
        }
    }

    [Theory]
    [InlineData("\"bus\": 99", "prosumers[0].bus")]
    [InlineData("\"etaCharge\": 1.3", "prosumers[1].etaCharge")]
    [InlineData("\"initialMwh\": 5", "prosumers[1].initialMwh")]
    [InlineData("\"kind\": \"wind\"", "prosumers[0].kind")]
    public void Bad_scenarios_name_the_field(string change, string where)
    {
        string text = """
            { "case": "case33bw", "start": "2026-06-01T00:00:00+02:00", "intervalMinutes": 60,
              "gridPrice": [30,30,30,30,30,30,40,50,60,60,60,60,60,60,60,60,70,90,100,90,70,50,40,35],
              "prosumers": [ { "id": "pv1", "kind": "pv", "bus": 5, "peakMw": 0.05 },
                             { "id": "b1", "kind": "battery", "bus": 7, "energyMwh": 0.1, "powerMw": 0.05, "etaCharge": 0.9, "etaDischarge": 0.9, "initialMwh": 0.05 } ] }
            """;
        string bad = where.StartsWith("prosumers[0]")
            ? text.Replace(change.Split(':')[0] + ": " + (change.Contains("bus") ? "5" : "\"pv\""), change)
            : text.Replace(change.Split(':')[0] + ": " + (change.Contains("eta") ? "0.9" : "0.05"), change);
        Assert.NotEqual(text, bad);
        var ex = Assert.Throws<OpenTE.Grid.Input.InputException>(() => Load(bad));
        Assert.Contains("$." + where, ex.Message);
        Assert.Contains("s.json", ex.Message);
    }

    [Fact]
    public void Events_out_of_order_or_without_a_microgrid_are_refused()
    {
        string head = """{ "case": "case33bw", "start": "2026-06-01T00:00:00+02:00", "intervalMinutes": 60, "gridPrice": [30,30,30,30,30,30,40,50,60,60,60,60,60,60,60,60,70,90,100,90,70,50,40,35], """;
        var e1 = Assert.Throws<OpenTE.Grid.Input.InputException>(() => Load(head + """ "events": [ { "at": "2026-06-01T14:00:00+02:00", "type": "pcc-open" } ] }"""));
        Assert.Contains("microgrid", e1.Message);
        string mg = """ "microgrid": { "pccBranch": 1, "gridForming": { "bus": 6, "capacityMw": 2, "price": 200 }, "reserveMw": 0.3 }, """;
        var e2 = Assert.Throws<OpenTE.Grid.Input.InputException>(() => Load(head + mg + """ "events": [ { "at": "2026-06-01T15:00:00+02:00", "type": "pcc-open" }, { "at": "2026-06-01T14:00:00+02:00", "type": "pcc-close" } ] }"""));
        Assert.Contains("$.events[1].at", e2.Message);
        var e3 = Assert.Throws<OpenTE.Grid.Input.InputException>(() => Load(head + """ "intervalMinutes": 7 }""".Replace(" \"intervalMinutes\": 60,", "")));
        Assert.Contains("intervalMinutes", e3.Message);
    }

    [Fact]
    public void Generated_communities_scale()
    {
        var (s, net) = Load();
        var bigger = s with { Prosumers = [.. s.Prosumers, .. ScenarioFile.Generate(net, 300, 3, 15, 96, Enumerable.Repeat(0.5, 96).ToArray())] };
        var r = ScenarioRunner.Run(bigger, net);
        Assert.Equal(96, r.Times.Count);
        Assert.All(Enumerable.Range(0, 96).Where(t => r.Mode[t] == "island"), t => Assert.Equal(r.CriticalDemandMw[t], r.CriticalServedMw[t], 9));
    }
}
