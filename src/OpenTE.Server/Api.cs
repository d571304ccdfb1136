using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace OpenTE.Server;

public sealed record MarketIn(string? Name, string? Case, int? IntervalMinutes, int? GateClosureMinutes, string? Mechanism, DateTimeOffset? Start, double? PrivacyEpsilon);
public sealed record ParticipantIn(string? Name, int? Bus);
public sealed record BidRequest(string? Side, double? Price, double? Quantity);
public sealed record MeterIn(double? ImportKwh, double? ExportKwh);
public sealed record CaseIn(string? Name, string? Matpower);
public sealed record IdOut(long Id);
public sealed record ParticipantOut(long Id, string Name, int Bus, string ApiKey, string Address);
public sealed record BidsOut(IReadOnlyList<long> Ids);
public sealed record MeOut(string Role, long? Id, string? Name, int? Bus);
public sealed record MarketOut(long Id, string Name, string Case, int IntervalMinutes, int GateClosureMinutes, string Mechanism, DateTimeOffset Start, double PrivacyEpsilon, long NextInterval, IReadOnlyList<int> Buses);
public sealed record ParticipantListOut(long Id, string Name, int Bus, string Address);

/// <summary>
/// The HTTP API (docs/server.md): authentication, isolation (a participant sees and changes only its own bids, awards,
/// meter data and balances; anything else is "not found"), input checks that name the field and the fix, RFC 7807
/// problems for every error.
/// </summary>
public static class Api
{
    private static readonly Regex NamePattern = new("^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$", RegexOptions.CultureInvariant);

    private static readonly JsonSerializerOptions In = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        NumberHandling = JsonNumberHandling.Strict,
        MaxDepth = 8,
    };

    // ---- middleware

    public static async Task Errors(HttpContext ctx, RequestDelegate next)
    {
        try
        {
            await next(ctx);
        }
        catch (ApiException e)
        {
            await WriteProblem(ctx, e);
        }
        catch (BadHttpRequestException e)
        {
            await WriteProblem(ctx, new ApiException(e.StatusCode, "bad request", e.Message, null,
                e.StatusCode == 413 ? "send a smaller body" : "send a well-formed request"));
        }
        catch (Exception e) when (!ctx.Response.HasStarted && e is not OperationCanceledException)
        {
            await Console.Error.WriteLineAsync($"opente serve: {ctx.Request.Method} {ctx.Request.Path}: {e.GetType().Name}: {e.Message}");
            await WriteProblem(ctx, new ApiException(500, "internal error", "the server failed on this request; it is logged", null, "retry later or report it"));
        }
    }

    public static Task WriteProblem(HttpContext ctx, ApiException e)
    {
        if (ctx.Response.HasStarted) return Task.CompletedTask;
        ctx.Response.Clear();
        ctx.Response.StatusCode = e.Status;
        if (e.Status == 401) ctx.Response.Headers.WWWAuthenticate = "Bearer";
        var body = new Dictionary<string, object?>
        {
            ["type"] = $"https://httpstatuses.io/{e.Status}", ["title"] = e.Title, ["status"] = e.Status, ["detail"] = e.Message,
        };
        if (e.Field is not null) body["field"] = e.Field;
        if (e.Fix is not null) body["fix"] = e.Fix;
        return ctx.Response.WriteAsJsonAsync(body, (JsonSerializerOptions?)null, "application/problem+json");
    }

    /// <summary>Resolves the bearer key to a caller (the operator or a participant), if any; does not reject (see <see cref="RequireKey"/>).</summary>
    public static async Task Authenticate(HttpContext ctx, RequestDelegate next)
    {
        if (ctx.Request.Path.StartsWithSegments("/api") && ctx.Request.Headers.Authorization.ToString() is { } h
            && h.StartsWith("Bearer ", StringComparison.Ordinal) && h.Length is > 7 and < 200)
        {
            var hash = ApiKeys.Hash(h[7..].Trim());
            var markets = ctx.RequestServices.GetRequiredService<Markets>();
            if (!markets.Callers.TryGetValue(hash, out var caller))
            {
                var op = ctx.RequestServices.GetRequiredService<OperatorIdentity>();
                if (hash == op.KeyHash) caller = new Caller(true, null);
                else if (await markets.ParticipantByKeyHash(hash) is { } p) markets.Callers[hash] = caller = new Caller(false, p);
            }
            if (caller is not null) ctx.Items["caller"] = caller;
        }
        await next(ctx);
    }

    /// <summary>The rate limiter's partition: the caller (operator or participant id) when the key is known, else the client address.</summary>
    public static string RateKey(HttpContext ctx) => ctx.Items["caller"] is Caller c
        ? c.IsOperator ? "operator" : "p" + c.ParticipantId
        : "ip:" + ctx.Connection.RemoteIpAddress;

    public static async Task RequireKey(HttpContext ctx, RequestDelegate next)
    {
        if (ctx.Request.Path.StartsWithSegments("/api") && ctx.Items["caller"] is not Caller)
        {
            bool given = ctx.Request.Headers.Authorization.Count > 0;
            await WriteProblem(ctx, new ApiException(401, "unauthorized", given ? "the API key is not valid" : "no API key was sent",
                "Authorization", "send the header 'Authorization: Bearer KEY' with the operator's key or your participant key"));
            return;
        }
        await next(ctx);
    }

    private static Caller Who(HttpContext ctx) => (Caller)ctx.Items["caller"]!;

    private static Caller Operator(HttpContext ctx)
    {
        var c = Who(ctx);
        return c.IsOperator ? c : throw new ApiException(403, "forbidden", "only the market operator may do this", null, "use the operator's key");
    }

    private static ParticipantRow Participant(HttpContext ctx) =>
        Who(ctx).Participant ?? throw new ApiException(403, "forbidden", "only a participant may do this", null, "use a participant's key (POST /api/participants makes one)");

    /// <summary>Reads a JSON body of at most the configured size; malformed JSON and wrong types are a 400 naming the JSON path.</summary>
    private static async Task<T> Body<T>(HttpContext ctx)
    {
        var o = ctx.RequestServices.GetRequiredService<ServerOptions>();
        if (ctx.Request.ContentLength > o.MaxBodyBytes) throw TooLarge(o);
        using var buf = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int n;
        while ((n = await ctx.Request.Body.ReadAsync(chunk)) > 0)
        {
            buf.Write(chunk, 0, n);
            if (buf.Length > o.MaxBodyBytes) throw TooLarge(o);
        }
        if (buf.Length == 0) throw ApiException.Bad("body", "the request has no body", "send a JSON body (Content-Type: application/json)");
        try
        {
            return JsonSerializer.Deserialize<T>(buf.ToArray(), In) ?? throw ApiException.Bad("body", "the body is null", "send a JSON object or array");
        }
        catch (JsonException e)
        {
            string path = e.Path ?? "$";
            string msg = e.Message.Split(" Path:")[0].Split(". LineNumber")[0];
            throw ApiException.Bad(path, $"the body is not valid here ({path}): {msg}", "send well-formed JSON with the documented fields and types (numbers as JSON numbers, finite)");
        }
    }

    private static ApiException TooLarge(ServerOptions o) => new(413, "body too large", $"the body exceeds {o.MaxBodyBytes} bytes", "body", "send fewer bids per request");

    private static string Name(string? s, string field)
    {
        if (string.IsNullOrEmpty(s)) throw ApiException.Bad(field, $"'{field}' is missing", $"give '{field}' as a string");
        if (!NamePattern.IsMatch(s))
            throw ApiException.Bad(field, $"'{field}' must be 1–64 letters, digits, spaces, '_', '.' or '-', starting with a letter or digit", $"choose a plain name for '{field}'");
        return s;
    }

    private static T Need<T>(T? v, string field, string fix) where T : struct =>
        v ?? throw ApiException.Bad(field, $"'{field}' is missing", fix);

    private static long Interval(long t) => t is >= 0 and <= Markets.MaxInterval ? t
        : throw ApiException.Bad("t", $"interval {t} is outside 0…{Markets.MaxInterval}", "give the interval's index (0 = the market's start)");

    // ---- routes

    public static void Map(WebApplication app)
    {
        app.MapGet("/healthz", () => Results.Text("ok")).ExcludeFromDescription();
        var api = app.MapGroup("/api");

        api.MapGet("/me", (HttpContext ctx) =>
        {
            var c = Who(ctx);
            return c.IsOperator ? new MeOut("operator", null, null, null) : new MeOut("participant", c.Participant!.Id, c.Participant.Name, c.Participant.Bus);
        }).WithSummary("Who the key belongs to");

        api.MapPost("/cases", async (HttpContext ctx, Markets mk) =>
        {
            Operator(ctx);
            var b = await Body<CaseIn>(ctx);
            string name = Name(b.Name, "name");
            if (string.IsNullOrWhiteSpace(b.Matpower)) throw ApiException.Bad("matpower", "'matpower' is missing", "give the MATPOWER case file's text");
            await mk.UploadCase(name, b.Matpower);
            return Results.Created($"/api/cases/{name}", new { name });
        }).Accepts<CaseIn>("application/json").WithSummary("Upload a MATPOWER case (operator)");

        api.MapPost("/markets", async (HttpContext ctx, Markets mk) =>
        {
            Operator(ctx);
            var b = await Body<MarketIn>(ctx);
            string name = Name(b.Name, "name");
            string cs = Name(b.Case, "case");
            if (cs.Contains('.') || cs.Contains(' '))
                throw ApiException.Bad("case", $"case '{cs}' is not a bare case name", "give a name from ../shared/cases without extension (e.g. case5), or upload the case with POST /api/cases");
            int iv = Need(b.IntervalMinutes, "intervalMinutes", "give the interval length in minutes (5, 15, 30 or 60)");
            if (iv is not (5 or 15 or 30 or 60)) throw ApiException.Bad("intervalMinutes", $"intervalMinutes {iv} is not 5, 15, 30 or 60", "use 5, 15, 30 or 60 minutes");
            int gate = b.GateClosureMinutes ?? 5;
            if (gate is < 0 or > 1440) throw ApiException.Bad("gateClosureMinutes", $"gateClosureMinutes {gate} is outside 0…1440", "give minutes before the interval's start");
            string mech = b.Mechanism ?? "dc-opf";
            if (mech != "dc-opf") throw ApiException.Bad("mechanism", $"mechanism '{Trim(mech)}' is not served", "use \"dc-opf\" (DC network clearing with LMPs)");
            double eps = b.PrivacyEpsilon ?? 1.0;
            if (!(eps > 0 && eps <= 100)) throw ApiException.Bad("privacyEpsilon", $"privacyEpsilon {eps} is outside (0, 100]", "give the market's total ε budget, e.g. 1");
            if (b.Start is { } st && Math.Abs((st - DateTimeOffset.UnixEpoch).TotalDays) > 365 * 200)
                throw ApiException.Bad("start", "start is not a plausible date", "give an ISO-8601 time with offset");
            long id = await mk.CreateMarket(name, cs, iv, gate, mech, b.Start, eps);
            return Results.Created($"/api/markets/{id}", new IdOut(id));
        }).Accepts<MarketIn>("application/json").Produces<IdOut>(201).WithSummary("Create a market (operator)");

        api.MapGet("/markets", async (Markets mk) => (await mk.MarketsList()).Select(m => Out(m, mk.Now, [])))
            .WithSummary("List markets");

        api.MapGet("/markets/{m:long}", async (long m, Markets mk) =>
        {
            var market = await mk.Market(m);
            var net = await mk.LoadCase(market.Case);
            return Out(market, mk.Now, [.. net.Buses.Select(b => b.Id)]);
        }).WithSummary("A market and its buses");

        api.MapPost("/participants", async (HttpContext ctx, Markets mk) =>
        {
            Operator(ctx);
            var b = await Body<ParticipantIn>(ctx);
            string name = Name(b.Name, "name");
            int bus = Need(b.Bus, "bus", "give the participant's bus number (as in the case file)");
            if (bus <= 0) throw ApiException.Bad("bus", $"bus {bus} is not a bus number", "give a positive bus number from the case file");
            var (id, key, addr) = await mk.CreateParticipant(name, bus);
            return Results.Created($"/api/participants/{id}", new ParticipantOut(id, name, bus, key, addr));
        }).Accepts<ParticipantIn>("application/json").Produces<ParticipantOut>(201).WithSummary("Register a participant; its API key is shown once (operator)");

        api.MapGet("/participants", async (HttpContext ctx, Markets mk) =>
        {
            Operator(ctx);
            return (await mk.Participants()).Select(p => new ParticipantListOut(p.Id, p.Name, p.Bus, p.Address));
        }).WithSummary("List participants (operator)");

        var iv = api.MapGroup("/markets/{m:long}/intervals/{t:long}");

        iv.MapPost("/bids", async (HttpContext ctx, long m, long t, Markets mk) =>
        {
            var p = Participant(ctx);
            Interval(t);
            var market = await mk.Market(m);
            var raw = await Body<List<BidRequest>>(ctx);
            if (raw.Count == 0) throw ApiException.Bad("$", "no bids in the array", "send [ { \"side\": \"buy\", \"price\": 30, \"quantity\": 5 } ]");
            if (raw.Count > Markets.MaxBidsPerRequest) throw ApiException.Bad("$", $"{raw.Count} bids in one request; at most {Markets.MaxBidsPerRequest}", "split the bids over several requests");
            var bids = new List<BidIn>(raw.Count);
            for (int k = 0; k < raw.Count; k++)
            {
                var r = raw[k] ?? throw ApiException.Bad($"$[{k}]", $"bid {k} is null", "send an object per bid");
                string side = r.Side switch
                {
                    "buy" => "buy", "sell" => "sell",
                    null => throw ApiException.Bad($"$[{k}].side", $"bid {k}: 'side' is missing", "give \"buy\" or \"sell\""),
                    _ => throw ApiException.Bad($"$[{k}].side", $"bid {k}: side '{Trim(r.Side)}' is neither buy nor sell", "give \"buy\" or \"sell\""),
                };
                double price = Need(r.Price, $"$[{k}].price", "give the price in $/MWh");
                double q = Need(r.Quantity, $"$[{k}].quantity", "give the quantity in MW");
                if (OpenTE.Market.Bids.Bid.Check(price, q) is { } why)
                    throw ApiException.Bad(why.StartsWith("price") ? $"$[{k}].price" : $"$[{k}].quantity", $"bid {k}: {why}", "give a finite price within the limits and a quantity ≥ 0");
                bids.Add(new BidIn(side, price, q));
            }
            var ids = await mk.SubmitBids(market, t, p, bids);
            return Results.Created($"/api/markets/{m}/intervals/{t}/bids", new BidsOut(ids));
        }).Accepts<List<BidRequest>>("application/json").Produces<BidsOut>(201)
          .WithSummary("Submit bids for an interval (participant); 409 after the gate closure");

        iv.MapGet("/bids", async (HttpContext ctx, long m, long t, Markets mk) =>
            await mk.Bids(await mk.Market(m), Interval(t), Who(ctx))).WithSummary("The interval's bids: own (participant) or all (operator)");

        iv.MapPost("/clear", async (HttpContext ctx, long m, long t, Markets mk) =>
            await mk.Clear(await mk.Market(m), Interval(t), Operator(ctx))).WithSummary("Clear the interval now (operator); once per interval");

        iv.MapGet("/results", async (HttpContext ctx, long m, long t, Markets mk) =>
            await mk.Results(await mk.Market(m), Interval(t), Who(ctx))).WithSummary("Prices at the buses and the awards (participant: own)");

        iv.MapPost("/meter", async (HttpContext ctx, long m, long t, Markets mk) =>
        {
            var p = Participant(ctx);
            var market = await mk.Market(m);
            var b = await Body<MeterIn>(ctx);
            double imp = Need(b.ImportKwh, "importKwh", "give the energy taken in kWh"), exp = Need(b.ExportKwh, "exportKwh", "give the energy fed in kWh");
            foreach (var (v, f) in new[] { (imp, "importKwh"), (exp, "exportKwh") })
                if (!double.IsFinite(v) || v < 0 || v > 1e9) throw ApiException.Bad(f, $"{f} {v} is outside [0, 1e9] kWh", "give the metered energy in kWh, ≥ 0");
            await mk.SaveReading(market, Interval(t), p, imp, exp);
            return Results.Created($"/api/markets/{m}/intervals/{t}/meter", new { market = m, interval = t, importKwh = imp, exportKwh = exp });
        }).Accepts<MeterIn>("application/json").WithSummary("Upload your meter reading for an interval (participant)");

        iv.MapPost("/settle", async (HttpContext ctx, long m, long t, Markets mk, OperatorIdentity op) =>
        {
            Operator(ctx);
            return await mk.Settle(await mk.Market(m), Interval(t), op.Settlement, op.Meter);
        }).WithSummary("Settle the cleared interval against the meter readings on the ledger (operator)");

        api.MapGet("/markets/{m:long}/intervals", async (HttpContext ctx, long m, Markets mk) =>
            await mk.Intervals(await mk.Market(m), Who(ctx))).WithSummary("The market's intervals: status, bids, price range");

        api.MapGet("/markets/{m:long}/bids/{id:long}", async (HttpContext ctx, long m, long id, Markets mk) =>
            await mk.Bid(await mk.Market(m), id, Who(ctx))).WithSummary("One bid (its owner or the operator)");

        api.MapGet("/markets/{m:long}/my-bids", async (HttpContext ctx, long m, Markets mk) =>
            await mk.OwnBids(await mk.Market(m), Participant(ctx).Id)).WithSummary("Your bids over all intervals (participant)");

        api.MapGet("/balances", async (HttpContext ctx, Markets mk) => await mk.Balances(Who(ctx)))
            .WithSummary("Ledger balances: own (participant) or all (operator)");

        api.MapGet("/markets/{m:long}/aggregate", async (HttpContext ctx, long m, Markets mk, double? epsilon, double? maxKwh) =>
        {
            Operator(ctx);
            double e = epsilon ?? 0.1, mx = maxKwh ?? 10;
            if (!(e > 0 && e <= 10)) throw ApiException.Bad("epsilon", $"epsilon {e} is outside (0, 10]", "ask with a small positive ε, e.g. ?epsilon=0.1");
            if (!(mx > 0 && mx <= 1e6)) throw ApiException.Bad("maxKwh", $"maxKwh {mx} is outside (0, 1e6]", "give the clamp of one reading in kWh");
            return await mk.Aggregate(await mk.Market(m), e, mx);
        }).WithSummary("Differentially private sum of metered import per interval; refused when the market's ε budget is spent (operator)");

        api.MapGet("/markets/{m:long}/events", async (HttpContext ctx, long m, Markets mk, ClearingFeed feed) =>
        {
            await mk.Market(m);
            ctx.Response.Headers.ContentType = "text/event-stream";
            ctx.Response.Headers.CacheControl = "no-cache";
            ctx.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
            var (id, reader) = feed.Subscribe();
            try
            {
                await ctx.Response.WriteAsync(": connected\n\n", ctx.RequestAborted);
                await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
                string marker = $"{{\"market\":{m},";
                while (!ctx.RequestAborted.IsCancellationRequested)
                {
                    using var beat = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted);
                    beat.CancelAfter(TimeSpan.FromSeconds(15));
                    string? msg = null;
                    try { msg = await reader.ReadAsync(beat.Token); }
                    catch (OperationCanceledException) when (!ctx.RequestAborted.IsCancellationRequested) { }
                    await ctx.Response.WriteAsync(msg is null ? ": keep-alive\n\n" : msg.StartsWith(marker, StringComparison.Ordinal) ? $"event: cleared\ndata: {msg}\n\n" : "", ctx.RequestAborted);
                    await ctx.Response.Body.FlushAsync(ctx.RequestAborted);
                }
            }
            catch (OperationCanceledException) { }
            finally { feed.Unsubscribe(id); }
        }).WithSummary("Server-sent events: 'cleared' with the bus prices when an interval of the market clears");
    }

    private static MarketOut Out(MarketRow m, long now, IReadOnlyList<int> buses) =>
        new(m.Id, m.Name, m.Case, m.IntervalMinutes, m.GateMinutes, m.Mechanism, DateTimeOffset.FromUnixTimeSeconds(m.StartUnix), m.PrivacyEpsilon,
            m.NextOpenInterval(now), buses);

    /// <summary>Client text echoed in an error, shortened (binary or huge input is not echoed back).</summary>
    private static string Trim(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
