using System.Net;
using System.Text.Json.Nodes;
using CsCheck;

namespace OpenTE.Server.Tests;

/// <summary>Abuse: every bad request is a clean 4xx problem (no 5xx, no stack trace), and nothing is stored half-way.</summary>
public class SecurityTests
{
    private const string Op = TestServer.OperatorKey;
    private static readonly HttpMethod Post = HttpMethod.Post, Get = HttpMethod.Get;

    private static readonly string[] Injections =
    [
        "'; DROP TABLE bids; --", "\" OR 1=1 --", "a' OR 'a'='a", "1; DELETE FROM participants", "x'); DROP TABLE markets;--",
        "Robert'); DROP TABLE participants;--", "%27%20OR%201%3D1", "\\'; SELECT pg_sleep(5); --", "名前", "<script>alert(1)</script>",
    ];

    private static async Task AssertProblem(HttpResponseMessage r, HttpStatusCode expect, string? field = null)
    {
        var body = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == expect, $"expected {(int)expect}, got {(int)r.StatusCode}: {body}");
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
        var p = JsonNode.Parse(body)!;
        Assert.Equal((int)expect, (int)p["status"]!);
        Assert.False(string.IsNullOrWhiteSpace((string?)p["fix"]), body);
        if (field is not null) Assert.Equal(field, (string?)p["field"]);
        Assert.DoesNotContain("   at ", body);
    }

    private static long Count(TestServer s, string table)
    {
        using var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={s.DbPath}");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"SELECT COUNT(*) FROM {table}";
        return (long)cmd.ExecuteScalar()!;
    }

    [Fact]
    public async Task Sql_injection_strings_in_every_text_field_are_refused_and_change_nothing()
    {
        await using var s = await TestServer.Start(o => o with { Scheduler = false });
        long m = await s.Market();
        var (_, a) = await s.Participant("a", 2);
        await s.Ok(Post, $"/api/markets/{m}/intervals/1/bids", a, """[{"side":"buy","price":50,"quantity":10}]""", HttpStatusCode.Created);
        foreach (var inj in Injections)
        {
            string j = System.Text.Json.JsonSerializer.Serialize(inj);
            await AssertProblem(await s.Send(Post, "/api/markets", Op, $$"""{"name":{{j}},"case":"case5","intervalMinutes":15}"""), HttpStatusCode.BadRequest, "name");
            await AssertProblem(await s.Send(Post, "/api/markets", Op, $$"""{"name":"ok","case":{{j}},"intervalMinutes":15}"""), HttpStatusCode.BadRequest, "case");
            await AssertProblem(await s.Send(Post, "/api/markets", Op, $$"""{"name":"ok","case":"case5","intervalMinutes":15,"mechanism":{{j}}}"""), HttpStatusCode.BadRequest, "mechanism");
            await AssertProblem(await s.Send(Post, "/api/participants", Op, $$"""{"name":{{j}},"bus":2}"""), HttpStatusCode.BadRequest, "name");
            await AssertProblem(await s.Send(Post, "/api/cases", Op, $$"""{"name":{{j}},"matpower":"x"}"""), HttpStatusCode.BadRequest, "name");
            await AssertProblem(await s.Send(Post, $"/api/markets/{m}/intervals/1/bids", a, $$"""[{"side":{{j}},"price":1,"quantity":1}]"""), HttpStatusCode.BadRequest, "$[0].side");
            // in the key and in the path: unauthorised / not found, never a database error
            await AssertProblem(await s.Send(Get, $"/api/markets/{m}/intervals/1/bids", inj.Replace("名前", "x")), HttpStatusCode.Unauthorized);
            var path = await s.Send(Get, $"/api/markets/{Uri.EscapeDataString(inj)}/intervals/1/bids", Op);
            Assert.Equal(HttpStatusCode.NotFound, path.StatusCode);
            var q = await s.Send(Get, $"/api/markets/{m}/aggregate?epsilon={Uri.EscapeDataString(inj)}", Op);
            Assert.Equal(HttpStatusCode.BadRequest, q.StatusCode);
        }
        Assert.Equal(1, Count(s, "markets"));
        Assert.Equal(1, Count(s, "participants"));
        Assert.Equal(1, Count(s, "bids"));
    }

    [Theory]
    [InlineData("""[{"side":"buy","price":50,"quantity":-1}]""", "$[0].quantity")]
    [InlineData("""[{"side":"buy","price":"NaN","quantity":1}]""", "$[0].price")]
    [InlineData("""[{"side":"buy","price":NaN,"quantity":1}]""", "$[0].price")]
    [InlineData("""[{"side":"buy","price":1e400,"quantity":1}]""", "$[0].price")]
    [InlineData("""[{"side":"buy","price":50,"quantity":1e300}]""", "$[0].quantity")]
    [InlineData("""[{"side":"buy","price":-1e7,"quantity":1}]""", "$[0].price")]
    [InlineData("""[{"side":"buy","price":"fifty","quantity":1}]""", "$[0].price")]
    [InlineData("""[{"side":"buy","quantity":1}]""", "$[0].price")]
    [InlineData("""[{"side":"buy","price":50,"quantity":1,"extra":1}]""", "$[0].extra")]
    [InlineData("""[{"side":"buy","price":50,"quantity":1},]""", null)]
    [InlineData("""[{"side":"buy",""", null)]
    [InlineData("""{"side":"buy","price":50,"quantity":1}""", null)]
    [InlineData("""[]""", "$")]
    [InlineData("""[null]""", "$[0]")]
    [InlineData("\u0000\u0001\u00ff", null)]
    public async Task Bad_bids_are_a_400_naming_the_field(string body, string? field)
    {
        await using var s = await TestServer.Start(o => o with { Scheduler = false });
        long m = await s.Market();
        var (_, a) = await s.Participant("a", 2);
        var r = await s.Send(Post, $"/api/markets/{m}/intervals/1/bids", a, body);
        await AssertProblem(r, HttpStatusCode.BadRequest, field);
        Assert.Equal(0, Count(s, "bids"));
    }

    [Fact]
    public async Task Oversized_bodies_are_413_and_huge_or_negative_intervals_400()
    {
        await using var s = await TestServer.Start(o => o with { Scheduler = false, MaxBodyBytes = 64 * 1024 });
        long m = await s.Market();
        var (_, a) = await s.Participant("a", 2);
        var big = "[" + string.Join(",", Enumerable.Repeat("""{"side":"buy","price":50,"quantity":1}""", 3000)) + "]";
        await AssertProblem(await s.Send(Post, $"/api/markets/{m}/intervals/1/bids", a, big, expectContinue: true), HttpStatusCode.RequestEntityTooLarge);
        var many = "[" + string.Join(",", Enumerable.Repeat("""{"side":"buy","price":50,"quantity":1}""", 1001)) + "]";
        await AssertProblem(await s.Send(Post, $"/api/markets/{m}/intervals/1/bids", a, many), HttpStatusCode.BadRequest, "$");
        await AssertProblem(await s.Send(Post, $"/api/markets/{m}/intervals/99999999999/bids", a, """[{"side":"buy","price":1,"quantity":1}]"""), HttpStatusCode.BadRequest, "t");
        await AssertProblem(await s.Send(Post, $"/api/markets/{m}/intervals/-1/bids", a, """[{"side":"buy","price":1,"quantity":1}]"""), HttpStatusCode.BadRequest, "t");
        await AssertProblem(await s.Send(Post, "/api/markets", Op, """{"name":"x","case":"case5","intervalMinutes":7}"""), HttpStatusCode.BadRequest, "intervalMinutes");
        await AssertProblem(await s.Send(Post, "/api/participants", Op, """{"name":"x","bus":-3}"""), HttpStatusCode.BadRequest, "bus");
        await AssertProblem(await s.Send(Post, "/api/participants", Op, """{"name":"x","bus":99999999999}"""), HttpStatusCode.BadRequest, "$.bus");
        var (_, far) = await s.Participant("far", 77); // a bus the market's case does not have
        await AssertProblem(await s.Send(Post, $"/api/markets/{m}/intervals/1/bids", far, """[{"side":"buy","price":1,"quantity":1}]"""), HttpStatusCode.BadRequest, "bus");
        await AssertProblem(await s.Send(Post, $"/api/markets/{m + 5}/intervals/1/bids", a, """[{"side":"buy","price":1,"quantity":1}]"""), HttpStatusCode.NotFound);
        Assert.Equal(0, Count(s, "bids"));
    }

    [Fact]
    public async Task Random_bodies_never_make_a_5xx_nor_store_a_bid()
    {
        await using var s = await TestServer.Start(o => o with { Scheduler = false });
        long m = await s.Market();
        var (_, a) = await s.Participant("a", 2);
        string[] parts = ["[", "]", "{", "}", ",", ":", "\"side\"", "\"buy\"", "\"price\"", "\"quantity\"", "1e999", "-0", "NaN", "null", "true", "\"\\u0000\"", "9".PadRight(400, '9')];
        var fragments = Gen.Int[0, parts.Length - 1].Select(i => parts[i]);
        fragments.Array[0, 30].Select(a => string.Concat(a)).Sample(body =>
        {
            var r = s.Send(Post, $"/api/markets/{m}/intervals/1/bids", a, body).GetAwaiter().GetResult();
            return (int)r.StatusCode is >= 400 and < 500 or 201;
        }, iter: 300, threads: 1);
        Assert.Equal(0, Count(s, "bids")); // none of these is a valid bid list
    }

    [Fact]
    public async Task Each_key_is_rate_limited_with_a_429_problem()
    {
        await using var s = await TestServer.Start(o => o with { Scheduler = false, RequestsPerSecond = 5 });
        var codes = new List<HttpStatusCode>();
        for (int i = 0; i < 30; i++) codes.Add((await s.Send(Get, "/api/me", Op)).StatusCode);
        Assert.Contains(HttpStatusCode.TooManyRequests, codes);
        Assert.True(codes.Count(c => c == HttpStatusCode.OK) is >= 10 and < 30);
        var r = await s.Send(Get, "/api/me", Op);
        if (r.StatusCode == HttpStatusCode.TooManyRequests) await AssertProblem(r, HttpStatusCode.TooManyRequests);
        // unauthenticated callers share their address's bucket, so key guessing is limited too
        var guesses = new List<HttpStatusCode>();
        for (int i = 0; i < 30; i++) guesses.Add((await s.Send(Get, "/api/me", "guess" + i)).StatusCode);
        Assert.Contains(HttpStatusCode.TooManyRequests, guesses);
    }
}

public class CaseNameTests
{
    [Theory]
    [InlineData("case5.m")]
    [InlineData("..")]
    [InlineData("../shared/cases/case5")]
    [InlineData("/etc/passwd")]
    [InlineData("case 5")]
    public async Task A_market_case_must_be_a_bare_name_not_a_path(string name)
    {
        await using var s = await TestServer.Start(o => o with { Scheduler = false });
        var r = await s.Send(HttpMethod.Post, "/api/markets", TestServer.OperatorKey,
            $$"""{"name":"m","case":{{System.Text.Json.JsonSerializer.Serialize(name)}},"intervalMinutes":15}""");
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Contains("\"field\":\"case\"", await r.Content.ReadAsStringAsync());
    }
}
