using System.Net;
using System.Text.Json.Nodes;
using OpenTE.Grid.Matpower;
using OpenTE.Market.Bids;
using OpenTE.Market.DcOpf;
using OpenTE.Market.Outcome;
using OpenTE.Settlement;

namespace OpenTE.Server.Tests;

/// <summary>The market API end to end over HTTP on a SQLite file: bids, gate closure, clearing, results, isolation, settlement, privacy, live events.</summary>
public class MarketApiTests
{
    private const string Op = TestServer.OperatorKey;
    private static readonly HttpMethod Post = HttpMethod.Post, Get = HttpMethod.Get;

    [Fact]
    public Task Bids_clear_to_the_library_dc_clearing_and_each_participant_sees_only_its_own() => ClearsLikeTheLibrary(null);

    [PostgresFact]
    public async Task On_postgres_bids_clear_to_the_library_dc_clearing_and_each_participant_sees_only_its_own()
    {
        await using var pg = await PgSchema.Create();
        await ClearsLikeTheLibrary(pg.ConnectionString);
    }

    private static async Task ClearsLikeTheLibrary(string? db)
    {
        await using var s = await TestServer.Start(o => o with { Scheduler = false }, db: db);
        long m = await s.Market();
        var (_, mall) = await s.Participant("mall", 2);
        var (_, solar) = await s.Participant("solar-coop", 3);
        var (_, homes) = await s.Participant("homes", 4);
        var mallIds = await s.Ok(Post, $"/api/markets/{m}/intervals/1/bids", mall, """[{"side":"buy","price":60,"quantity":40},{"side":"buy","price":35,"quantity":30}]""", HttpStatusCode.Created);
        await s.Ok(Post, $"/api/markets/{m}/intervals/1/bids", solar, """[{"side":"sell","price":5,"quantity":30},{"side":"sell","price":12,"quantity":20}]""", HttpStatusCode.Created);
        await s.Ok(Post, $"/api/markets/{m}/intervals/1/bids", homes, """[{"side":"buy","price":80,"quantity":50}]""", HttpStatusCode.Created);
        Assert.Equal(2, mallIds["ids"]!.AsArray().Count);

        // own bids for a participant, all for the operator
        Assert.Equal(2, (await s.Ok(Get, $"/api/markets/{m}/intervals/1/bids", mall)).AsArray().Count);
        Assert.Equal(5, (await s.Ok(Get, $"/api/markets/{m}/intervals/1/bids", Op)).AsArray().Count);

        var res = await s.Ok(Post, $"/api/markets/{m}/intervals/1/clear", Op);
        Assert.Equal("optimal", (string)res["status"]!);

        // the known answer: the library's DC clearing of the same bids on the same case
        var net = MatpowerCase.Read(ServerOptions.DefaultCaseResolver("case5")).Network;
        var bids = new List<Bid>
        {
            new("mall", 2, Side.Buy, 60, 40, 1, 0), new("mall", 2, Side.Buy, 35, 30, 2, 0),
            new("solar-coop", 3, Side.Sell, 5, 30, 3, 0), new("solar-coop", 3, Side.Sell, 12, 20, 4, 0), new("homes", 4, Side.Buy, 80, 50, 5, 0),
        };
        var lib = DcOpfSolver.Solve(net, new DcOpfOptions { Bids = bids });
        var outcome = lib.ToOutcome(intervalHours: 0.25);
        var buses = res["buses"]!.AsArray();
        Assert.Equal(net.Buses.Length, buses.Count);
        foreach (var b in buses) Assert.Equal(lib.Lmp((int)b!["id"]!), (double)b["lmp"]!, 6);
        var awards = res["awards"]!.AsArray();
        Assert.Equal(outcome.Awards.Count, awards.Count);
        Assert.Equal(outcome.Awards.Sum(a => a.Quantity), awards.Sum(a => (double)a!["cleared"]!), 6);
        // uniform price per bus: every award is priced at its bus's LMP
        foreach (var a in outcome.Awards) Assert.Contains(awards, x => (string)x!["participant"]! == a.Participant && Math.Abs((double)x["price"]! - lib.Lmp(a.Bus)) < 1e-6);

        var mine = await s.Ok(Get, $"/api/markets/{m}/intervals/1/results", mall);
        Assert.All(mine["awards"]!.AsArray(), a => Assert.Equal("mall", (string)a!["participant"]!));
        Assert.Equal(outcome.Awards.Count(a => a.Participant == "mall"), mine["awards"]!.AsArray().Count);
        Assert.Equal(buses.Count, mine["buses"]!.AsArray().Count);

        // a cleared interval takes no more bids
        var late = await s.Send(Post, $"/api/markets/{m}/intervals/1/bids", mall, """[{"side":"buy","price":60,"quantity":1}]""");
        Assert.Equal(HttpStatusCode.Conflict, late.StatusCode);
    }

    [Fact]
    public async Task Gate_closure_refuses_bids_with_409_and_the_scheduler_clears_the_interval()
    {
        await using var s = await TestServer.Start();
        long m = await s.Market();
        var (_, a) = await s.Participant("a", 2);
        // interval 0 starts at T0: its gate closed 5 minutes before
        var r0 = await s.Send(Post, $"/api/markets/{m}/intervals/0/bids", a, """[{"side":"buy","price":50,"quantity":10}]""");
        Assert.Equal(HttpStatusCode.Conflict, r0.StatusCode);
        Assert.Contains("gate", await r0.Content.ReadAsStringAsync());
        await s.Ok(Post, $"/api/markets/{m}/intervals/2/bids", a, """[{"side":"buy","price":50,"quantity":10}]""", HttpStatusCode.Created);
        await Task.Delay(400);
        Assert.Equal("open", (string)(await s.Ok(Get, $"/api/markets/{m}/intervals/2/results", a))["status"]!);
        s.Clock.Advance(TimeSpan.FromMinutes(25)); // interval 2 starts at T0+30 min, its gate at T0+25
        var late = await s.Send(Post, $"/api/markets/{m}/intervals/2/bids", a, """[{"side":"buy","price":50,"quantity":10}]""");
        Assert.Equal(HttpStatusCode.Conflict, late.StatusCode);
        JsonNode res = null!;
        for (int i = 0; i < 100; i++)
        {
            res = await s.Ok(Get, $"/api/markets/{m}/intervals/2/results", a);
            if ((string)res["status"]! == "optimal") break;
            await Task.Delay(100);
        }
        Assert.Equal("optimal", (string)res["status"]!);
        Assert.Single(res["awards"]!.AsArray());
        Assert.Equal(10, (double)res["awards"]![0]!["cleared"]!, 6);
    }

    [Fact]
    public async Task Racing_clear_requests_clear_the_interval_once()
    {
        await using var s = await TestServer.Start(o => o with { Scheduler = false });
        long m = await s.Market();
        var (_, a) = await s.Participant("a", 2);
        var (_, b) = await s.Participant("b", 3);
        await s.Ok(Post, $"/api/markets/{m}/intervals/1/bids", a, """[{"side":"buy","price":50,"quantity":10}]""", HttpStatusCode.Created);
        await s.Ok(Post, $"/api/markets/{m}/intervals/1/bids", b, """[{"side":"sell","price":5,"quantity":8}]""", HttpStatusCode.Created);
        var all = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => s.Ok(Post, $"/api/markets/{m}/intervals/1/clear", Op)));
        Assert.Equal(1, s.Markets.Solves);
        Assert.All(all, r => Assert.Equal(all[0].ToJsonString(), r.ToJsonString()));
        using var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={s.DbPath}");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT COUNT(*) FROM clearings";
        Assert.Equal(1L, (long)cmd.ExecuteScalar()!);
        cmd.CommandText = "SELECT COUNT(*) FROM awards";
        Assert.Equal(2L, (long)cmd.ExecuteScalar()!);
    }

    [Fact]
    public async Task Keys_and_isolation_401_for_no_or_wrong_key_404_for_anothers_bid_403_for_operator_actions()
    {
        await using var s = await TestServer.Start(o => o with { Scheduler = false });
        long m = await s.Market();
        var (_, a) = await s.Participant("a", 2);
        var (_, b) = await s.Participant("b", 3);
        var ids = await s.Ok(Post, $"/api/markets/{m}/intervals/1/bids", a, """[{"side":"buy","price":50,"quantity":10}]""", HttpStatusCode.Created);
        long bid = (long)ids["ids"]![0]!;

        Assert.Equal(HttpStatusCode.Unauthorized, (await s.Send(Get, $"/api/markets/{m}/intervals/1/bids", null)).StatusCode);
        var wrong = await s.Send(Get, $"/api/markets/{m}/intervals/1/bids", "ote_p_not-a-key");
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal("application/problem+json", wrong.Content.Headers.ContentType!.MediaType);
        Assert.Contains("\"field\":\"Authorization\"", await wrong.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, (await s.Send(Get, $"/api/markets/{m}/bids/{bid}", a)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await s.Send(Get, $"/api/markets/{m}/bids/{bid}", Op)).StatusCode);
        var other = await s.Send(Get, $"/api/markets/{m}/bids/{bid}", b);
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
        // the same answer as for a bid that does not exist: existence is not revealed
        var none = await s.Send(Get, $"/api/markets/{m}/bids/{bid + 1000}", b);
        Assert.Equal((await none.Content.ReadAsStringAsync()).Replace((bid + 1000).ToString(), "X"), (await other.Content.ReadAsStringAsync()).Replace(bid.ToString(), "X"));
        Assert.Empty((await s.Ok(Get, $"/api/markets/{m}/intervals/1/bids", b)).AsArray());

        Assert.Equal(HttpStatusCode.Forbidden, (await s.Send(Post, $"/api/markets/{m}/intervals/1/clear", a)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await s.Send(Post, "/api/participants", a, """{"name":"x","bus":2}""")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await s.Send(Post, $"/api/markets/{m}/intervals/1/bids", Op, """[{"side":"buy","price":1,"quantity":1}]""")).StatusCode);

        // keys are stored only as hashes
        using var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={s.DbPath}");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT COUNT(*) FROM participants WHERE key_hash = @k";
        cmd.Parameters.AddWithValue("@k", a);
        Assert.Equal(0L, (long)cmd.ExecuteScalar()!);
        cmd.Parameters["@k"].Value = ApiKeys.Hash(a);
        Assert.Equal(1L, (long)cmd.ExecuteScalar()!);
    }

    [Fact]
    public Task Meter_readings_settle_the_awards_on_the_ledger_and_balances_follow_the_clearing_prices() => SettlesOnTheLedger(null);

    [PostgresFact]
    public async Task On_postgres_meter_readings_settle_the_awards_on_the_ledger()
    {
        await using var pg = await PgSchema.Create();
        await SettlesOnTheLedger(pg.ConnectionString);
    }

    private static async Task SettlesOnTheLedger(string? db)
    {
        await using var s = await TestServer.Start(o => o with { Scheduler = false }, db: db);
        long m = await s.Market();
        var (_, buyer) = await s.Participant("buyer", 2);
        var (_, seller) = await s.Participant("seller", 3);
        var (_, idle) = await s.Participant("idle", 3);
        await s.Ok(Post, $"/api/markets/{m}/intervals/1/bids", buyer, """[{"side":"buy","price":90,"quantity":20}]""", HttpStatusCode.Created);
        await s.Ok(Post, $"/api/markets/{m}/intervals/1/bids", seller, """[{"side":"sell","price":1,"quantity":12}]""", HttpStatusCode.Created);
        var res = await s.Ok(Post, $"/api/markets/{m}/intervals/1/clear", Op);
        var awards = res["awards"]!.AsArray();
        var sell = awards.Single(a => (string)a!["participant"]! == "seller")!;
        var buy = awards.Single(a => (string)a!["participant"]! == "buyer")!;

        // before the interval is over: no readings, no settlement
        Assert.Equal(HttpStatusCode.Conflict, (await s.Send(Post, $"/api/markets/{m}/intervals/1/meter", seller, """{"importKwh":0,"exportKwh":1}""")).StatusCode);
        s.Clock.Advance(TimeSpan.FromMinutes(31));
        double soldMw = (double)sell["cleared"]!;
        double exportKwh = soldMw * 0.25 * 1000; // delivers exactly what it sold
        await s.Ok(Post, $"/api/markets/{m}/intervals/1/meter", seller, $$"""{"importKwh":0,"exportKwh":{{exportKwh:R}}}""", HttpStatusCode.Created);
        await s.Ok(Post, $"/api/markets/{m}/intervals/1/meter", buyer, """{"importKwh":5000,"exportKwh":0}""", HttpStatusCode.Created);
        var conflict = await s.Send(Post, $"/api/markets/{m}/intervals/1/meter", seller, """{"importKwh":0,"exportKwh":1}""");
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);

        var st = await s.Ok(Post, $"/api/markets/{m}/intervals/1/settle", Op);
        Assert.Equal(2, (int)st["trades"]!);
        Assert.Equal(2, (int)st["settled"]!);
        Assert.Equal(HttpStatusCode.Conflict, (await s.Send(Post, $"/api/markets/{m}/intervals/1/settle", Op)).StatusCode);

        // the money of each trade is the settlement's rule on the rounded price and energy
        static long Money_(double price, double mw) => Money.Amount(Commitments.MinorPerMWh(price, 100), Commitments.Wh(mw, 0.25));
        var all = (await s.Ok(Get, "/api/balances", Op)).AsArray();
        var sb = all.Single(x => (string)x!["participant"]! == "seller")!;
        var bb = all.Single(x => (string)x!["participant"]! == "buyer")!;
        Assert.Equal(Money_((double)sell["price"]!, soldMw), (long)sb["moneyMinor"]!);
        Assert.Equal(-Money_((double)buy["price"]!, (double)buy["cleared"]!), (long)bb["moneyMinor"]!);
        Assert.Equal(-Commitments.Wh(soldMw, 0.25), (long)sb["energyWh"]!);
        Assert.Equal(Commitments.Wh((double)buy["cleared"]!, 0.25), (long)bb["energyWh"]!);
        Assert.Equal(0, (long)all.Single(x => (string)x!["participant"]! == "idle")!["moneyMinor"]!);
        // a participant sees only its own balance
        var own = (await s.Ok(Get, "/api/balances", seller)).AsArray();
        Assert.Equal("seller", (string)Assert.Single(own)!["participant"]!);
        Assert.Equal((long)sb["moneyMinor"]!, (long)own[0]!["moneyMinor"]!);
    }

    [Fact]
    public Task Private_aggregate_is_refused_once_the_markets_budget_is_spent_even_after_a_restart() => PrivacyBudgetHolds(null);

    [PostgresFact]
    public async Task On_postgres_private_aggregate_is_refused_once_the_budget_is_spent_even_after_a_restart()
    {
        await using var pg = await PgSchema.Create();
        await PrivacyBudgetHolds(pg.ConnectionString);
    }

    private static async Task PrivacyBudgetHolds(string? db)
    {
        var dir = Directory.CreateTempSubdirectory("opente-server-").FullName;
        try
        {
            var clock = new ManualClock(TestServer.T0);
            long m;
            await using (var s = await TestServer.Start(o => o with { Scheduler = false }, dir, clock, db))
            {
                m = await s.Market();
                var (_, a) = await s.Participant("a", 2);
                s.Clock.Advance(TimeSpan.FromHours(1));
                await s.Ok(Post, $"/api/markets/{m}/intervals/1/meter", a, """{"importKwh":1.5,"exportKwh":0}""", HttpStatusCode.Created);
                var r1 = await s.Ok(Get, $"/api/markets/{m}/aggregate?epsilon=0.4&maxKwh=2", Op);
                Assert.Equal(0.4, (double)r1["epsilonSpent"]!, 9);
                Assert.Single(r1["values"]!.AsArray());
                await s.Ok(Get, $"/api/markets/{m}/aggregate?epsilon=0.4&maxKwh=2", Op);
                var refused = await s.Send(Get, $"/api/markets/{m}/aggregate?epsilon=0.4&maxKwh=2", Op);
                Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
                Assert.Contains("budget", await refused.Content.ReadAsStringAsync());
                Assert.Equal(HttpStatusCode.Forbidden, (await s.Send(Get, $"/api/markets/{m}/aggregate?epsilon=0.1", a)).StatusCode);
            }
            await using (var s = await TestServer.Start(o => o with { Scheduler = false }, dir, clock, db))
            {
                Assert.Equal(HttpStatusCode.Conflict, (await s.Send(Get, $"/api/markets/{m}/aggregate?epsilon=0.4&maxKwh=2", Op)).StatusCode);
                await s.Ok(Get, $"/api/markets/{m}/aggregate?epsilon=0.15&maxKwh=2", Op); // what is left of ε = 1
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public async Task Clearing_is_pushed_as_a_server_sent_event()
    {
        await using var s = await TestServer.Start(o => o with { Scheduler = false });
        long m = await s.Market();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var req = new HttpRequestMessage(Get, new Uri(s.Url, $"/api/markets/{m}/events"));
        req.Headers.Authorization = new("Bearer", Op);
        using var resp = await http.SendAsync(req, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", resp.Content.Headers.ContentType!.MediaType);
        using var reader = new StreamReader(await resp.Content.ReadAsStreamAsync());
        Assert.Equal(": connected", await reader.ReadLineAsync());
        // the feed needs one scheduler round to learn where it starts (so a late subscriber does not replay history)
        await Task.Delay(400);
        await s.Ok(Post, $"/api/markets/{m}/intervals/3/clear", Op);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        string? line;
        while ((line = await reader.ReadLineAsync(cts.Token)) is not null && !line.StartsWith("data:")) { }
        var ev = JsonNode.Parse(line![5..])!;
        Assert.Equal(m, (long)ev["market"]!);
        Assert.Equal(3, (long)ev["interval"]!);
        Assert.Equal("optimal", (string)ev["status"]!);
        Assert.Equal(5, ev["buses"]!.AsArray().Count);
    }

    [Fact]
    public async Task OpenApi_document_lists_the_market_api()
    {
        await using var s = await TestServer.Start(o => o with { Scheduler = false });
        var r = await s.Send(Get, "/openapi/v1.json", null);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var doc = JsonNode.Parse(await r.Content.ReadAsStringAsync())!;
        var paths = doc["paths"]!.AsObject().Select(p => p.Key).ToList();
        foreach (var p in new[] { "/api/markets", "/api/participants", "/api/markets/{m}/intervals/{t}/bids", "/api/markets/{m}/intervals/{t}/clear", "/api/markets/{m}/intervals/{t}/results" })
            Assert.Contains(p, paths);
    }
}

/// <summary>A market on an uploaded MATPOWER case.</summary>
public class UploadedCaseTests
{
    [Fact]
    public async Task A_market_on_an_uploaded_case_clears_on_it_and_a_broken_case_is_a_400_naming_matpower()
    {
        await using var s = await TestServer.Start(o => o with { Scheduler = false });
        const string Op = TestServer.OperatorKey;
        // case5 with the loads at buses 2 and 4 cut to 50 MW: the uploaded text is what the market clears on
        var stock = File.ReadAllText(ServerOptions.DefaultCaseResolver("case5"));
        var text = stock.Replace("function mpc = case5", "function mpc = mycase").Replace("\t2\t1\t300\t98.61", "\t2\t1\t50\t98.61").Replace("\t4\t3\t400\t131.47", "\t4\t3\t50\t131.47");
        Assert.NotEqual(stock.Replace("function mpc = case5", "function mpc = mycase"), text);
        var json = System.Text.Json.JsonSerializer.Serialize(new { name = "mycase", matpower = text });
        await s.Ok(HttpMethod.Post, "/api/cases", Op, json, HttpStatusCode.Created);
        var dup = await s.Send(HttpMethod.Post, "/api/cases", Op, json);
        Assert.Equal(HttpStatusCode.Conflict, dup.StatusCode);
        var bad = await s.Send(HttpMethod.Post, "/api/cases", Op, """{"name":"broken","matpower":"mpc.bus = [ 1 2 3 ;"}""");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("\"field\":\"matpower\"", await bad.Content.ReadAsStringAsync());
        var unknown = await s.Send(HttpMethod.Post, "/api/markets", Op, """{"name":"x","case":"no_such_case","intervalMinutes":15}""");
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains("\"field\":\"case\"", await unknown.Content.ReadAsStringAsync());

        long m = await s.Market("on-upload", "mycase");
        var (_, a) = await s.Participant("a", 2);
        await s.Ok(HttpMethod.Post, $"/api/markets/{m}/intervals/1/bids", a, """[{"side":"buy","price":60,"quantity":40}]""", HttpStatusCode.Created);
        var res = await s.Ok(HttpMethod.Post, $"/api/markets/{m}/intervals/1/clear", Op);
        var lib = OpenTE.Market.DcOpf.DcOpfSolver.Solve(OpenTE.Grid.Matpower.MatpowerCase.Parse(text, "mycase.m").Network,
            new OpenTE.Market.DcOpf.DcOpfOptions { Bids = [new OpenTE.Market.Bids.Bid("a", 2, OpenTE.Market.Bids.Side.Buy, 60, 40, 1, 0)] });
        foreach (var b in res["buses"]!.AsArray()) Assert.Equal(lib.Lmp((int)b!["id"]!), (double)b["lmp"]!, 6);
        var onStock = OpenTE.Market.DcOpf.DcOpfSolver.Solve(OpenTE.Grid.Matpower.MatpowerCase.Parse(stock, "case5.m").Network,
            new OpenTE.Market.DcOpf.DcOpfOptions { Bids = [new OpenTE.Market.Bids.Bid("a", 2, OpenTE.Market.Bids.Side.Buy, 60, 40, 1, 0)] });
        Assert.Contains(res["buses"]!.AsArray(), b => Math.Abs(onStock.Lmp((int)b!["id"]!) - (double)b["lmp"]!) > 1e-3);
    }
}
