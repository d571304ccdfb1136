using System.ComponentModel;
using OpenTE.Grid;
using OpenTE.Settlement;
using OpenTE.Settlement.Ledger;
using Spectre.Console;
using Spectre.Console.Cli;
using Spectre.Console.Rendering;

namespace OpenTE.Cli.Commands;

public sealed class SettleSettings : CommandSettings
{
    [CommandArgument(0, "<TRADES>")]
    [Description("Signed trade commitments, CSV: market,interval,buyer,seller,quantity_wh,price_per_mwh,nonce,expiry,buyer_sig,seller_sig.")]
    public string Trades { get; init; } = "";

    [CommandArgument(1, "<METER_DATA>")]
    [Description("Signed meter readings, CSV: market,meter,interval,energy_wh,signature.")]
    public string MeterData { get; init; } = "";

    [CommandOption("--market <FILE>")]
    [Description("Market rules, meter registry, deposits and imbalance prices (JSON; default market.json beside TRADES).")]
    public string? Market { get; init; }

    [CommandOption("--ledger <FILE>")]
    [Description("SQLite ledger to post to (created if missing; postings already in it are not posted again).")]
    public string? Ledger { get; init; }

    [CommandOption("--at <TIME>")]
    [Description("Engine clock after the replay, ISO-8601 with offset (default: now). Trades without meter data are refunded once their deadline is before it.")]
    public string? At { get; init; }

    [CommandOption("--open-at <TIME>")]
    [Description("Clock at which deposits and commitments are submitted (default: one second before the earliest interval).")]
    public string? OpenAt { get; init; }

    [CommandOption("--json")]
    [Description("Print JSON instead of tables.")]
    public bool Json { get; init; }

    [CommandOption("--out <FILE>")]
    [Description("Write the output to FILE instead of standard output.")]
    public string? Out { get; init; }

    public override ValidationResult Validate() =>
        At is not null && !SettlementCsv.TryTime(At, out _) ? ValidationResult.Error("--at must be an ISO-8601 time with offset")
        : OpenAt is not null && !SettlementCsv.TryTime(OpenAt, out _) ? ValidationResult.Error("--open-at must be an ISO-8601 time with offset")
        : ValidationResult.Success();
}

/// <summary>opente settle: open signed commitments, take oracle readings, settle by the escrow rules, post to the ledger.</summary>
public sealed class SettleCommand : Command<SettleSettings>
{
    public override int Execute(CommandContext context, SettleSettings s, CancellationToken cancellationToken)
    {
        var marketPath = s.Market ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(s.Trades)) ?? ".", "market.json");
        var market = MarketFile.Read(marketPath);
        long at = s.At is null ? DateTimeOffset.UtcNow.ToUnixTimeSeconds() : Time(s.At);
        long? openAt = s.OpenAt is null ? null : Time(s.OpenAt);
        var r = LedgerCommands.Guard(s.Ledger ?? "", () => SettlementRun.Run(s.Trades, s.MeterData, market, s.Ledger, at, openAt));
        if (s.Json)
        {
            Output.Emit(Output.Json(w =>
            {
                w.WriteStartObject();
                w.WriteString("market", r.Market);
                w.WriteNumber("trades", r.Trades);
                w.WriteNumber("opened", r.Opened);
                w.WriteNumber("refused", r.Refused);
                w.WriteNumber("settled", r.Settled);
                w.WriteNumber("refunded", r.Refunded);
                w.WriteNumber("open", r.StillOpen);
                w.WriteNumber("readings", r.Readings);
                w.WriteNumber("readingsAccepted", r.ReadingsAccepted);
                w.WriteNumber("readingsDuplicate", r.ReadingsDuplicate);
                w.WriteNumber("readingsConflicting", r.ReadingsConflicting);
                w.WriteNumber("readingsRefused", r.ReadingsRefused);
                w.WriteNumber("postings", r.Postings);
                w.WriteNumber("newPostings", r.NewPostings);
                if (s.Ledger is not null)
                {
                    w.WriteString("ledger", s.Ledger);
                    w.WriteNumber("ledgerEntries", r.LedgerEntries);
                    w.WriteString("ledgerHead", r.LedgerHead);
                }
                w.WriteNumber("moneyTotal", r.MoneyTotal);
                w.WriteNumber("energyTotalWh", r.EnergyTotal);
                w.WriteStartArray("tradeResults");
                foreach (var t in r.TradeOutcomes)
                {
                    w.WriteStartObject();
                    w.WriteNumber("line", t.Line);
                    w.WriteString("id", t.Id);
                    w.WriteString("status", t.Status);
                    if (t.Reason is not null) w.WriteString("reason", t.Reason);
                    w.WriteNumber("quantityWh", t.QuantityWh);
                    w.WriteNumber("deliveredWh", t.DeliveredWh);
                    w.WriteNumber("sellerPaid", t.SellerPaid);
                    w.WriteNumber("buyerRefund", t.BuyerRefund);
                    w.WriteNumber("imbalanceAmount", t.ImbalanceAmount);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteStartArray("readingResults");
                foreach (var x in r.ReadingOutcomes.Where(x => x.Status != "accepted"))
                {
                    w.WriteStartObject();
                    w.WriteNumber("line", x.Line);
                    w.WriteString("meter", x.Meter);
                    w.WriteString("interval", SettlementCsv.Time(x.IntervalStart));
                    w.WriteString("status", x.Status);
                    if (x.Reason is not null) w.WriteString("reason", x.Reason);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                LedgerCommands.WriteBalances(w, r.Balances);
                w.WriteEndObject();
            }), s.Out);
        }
        else
        {
            var items = new List<IRenderable>
            {
                new Markup($"[bold]{Markup.Escape(r.Market)}[/]: {r.Trades} commitments, {r.Opened} opened, [{(r.Refused == 0 ? "green" : "red")}]{r.Refused} refused[/]; " +
                           $"{r.Settled} settled, {r.Refunded} refunded, {r.StillOpen} still open; readings {r.ReadingsAccepted} accepted, " +
                           $"{r.ReadingsDuplicate} duplicate, [{(r.ReadingsConflicting == 0 ? "green" : "red")}]{r.ReadingsConflicting} conflicting[/], {r.ReadingsRefused} refused; " +
                           $"{r.Postings} postings ({r.NewPostings} new{(s.Ledger is null ? "; no --ledger: nothing stored" : $" in {Markup.Escape(s.Ledger)}, {r.LedgerEntries} entries")}).\n"),
                Output.Table("Participants (minor units, Wh)", "participant", "available", "escrow", "collateral", "energy (Wh)")
                    .Rows(r.Balances, b => [b.Participant, b.Available.ToString(), b.Escrow.ToString(), b.Collateral.ToString(), b.EnergyWh.ToString()]),
            };
            var refused = r.TradeOutcomes.Where(t => t.Status == "refused").ToList();
            if (refused.Count > 0)
                items.Add(Output.Table("Refused commitments", "line", "reason").Rows(refused, t => [t.Line.ToString(), t.Reason ?? ""]));
            var flagged = r.ReadingOutcomes.Where(x => x.Status is "conflict" or "refused" or "not-yet").ToList();
            if (flagged.Count > 0)
                items.Add(Output.Table("Readings not used", "line", "meter", "status", "reason").Rows(flagged, x => [x.Line.ToString(), x.Meter, x.Status, x.Reason ?? ""]));
            Output.Render(items, s.Out);
        }
        return 0;
    }

    private static long Time(string s) => SettlementCsv.TryTime(s, out var t) ? t : throw new UsageException($"'{s}' is not an ISO-8601 time with offset");
}

public sealed class LedgerFileSettings : CommandSettings
{
    [CommandArgument(0, "<FILE>")]
    [Description("The SQLite ledger file.")]
    public string File { get; init; } = "";

    [CommandOption("--json")]
    [Description("Print JSON instead of tables.")]
    public bool Json { get; init; }
}

public sealed class LedgerVerifySettings : CommandSettings
{
    [CommandArgument(0, "<FILE>")]
    [Description("The SQLite ledger file.")]
    public string File { get; init; } = "";

    [CommandOption("--expect-head <HASH>")]
    [Description("The head hash recorded earlier (detects entries cut from the end).")]
    public string? ExpectHead { get; init; }

    [CommandOption("--expect-count <N>")]
    [Description("The number of entries recorded earlier.")]
    public long? ExpectCount { get; init; }

    [CommandOption("--json")]
    [Description("Print JSON instead of text.")]
    public bool Json { get; init; }
}

/// <summary>opente ledger verify: recompute the hash chain and the balance of every entry; exit 1 at the first bad entry.</summary>
public sealed class LedgerVerifyCommand : Command<LedgerVerifySettings>
{
    public override int Execute(CommandContext context, LedgerVerifySettings s, CancellationToken cancellationToken)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var v = LedgerCommands.Guard(s.File, () => SqliteLedger.Verify(s.File, s.ExpectHead, s.ExpectCount));
        double secs = sw.Elapsed.TotalSeconds;
        if (s.Json)
        {
            Output.Emit(Output.Json(w =>
            {
                w.WriteStartObject();
                w.WriteString("ledger", s.File);
                w.WriteBoolean("ok", v.Ok);
                w.WriteNumber("entries", v.Entries);
                if (v.FirstBadIndex is { } i) w.WriteNumber("firstBadIndex", i);
                else w.WriteNull("firstBadIndex");
                if (v.Reason is not null) w.WriteString("reason", v.Reason);
                w.WriteString("headHash", v.HeadHash);
                w.Number("verifySeconds", secs);
                w.WriteEndObject();
            }), null);
        }
        else if (v.Ok)
            CliApp.Io.Out.WriteLine($"ok: {v.Entries} entries verified, head {v.HeadHash} ({secs:0.000} s)");
        else
            CliApp.Io.Out.WriteLine($"FAILED at entry {v.FirstBadIndex}: {v.Reason} ({v.Entries} entries before it are good)");
        return v.Ok ? 0 : 1;
    }
}

public sealed class LedgerBalanceSettings : CommandSettings
{
    [CommandArgument(0, "<FILE>")]
    [Description("The SQLite ledger file.")]
    public string File { get; init; } = "";

    [CommandOption("--participant <ID>")]
    [Description("Only this participant (its address), or 'system'.")]
    public string? Participant { get; init; }

    [CommandOption("--json")]
    [Description("Print JSON instead of tables.")]
    public bool Json { get; init; }

    public override ValidationResult Validate() =>
        Participant is not null && Participant != "system" && !Addr.IsAddress(Participant)
            ? ValidationResult.Error("--participant must be an address (0x and 40 hex digits) or 'system'") : ValidationResult.Success();
}

/// <summary>opente ledger balance: balances per participant read back from the journal.</summary>
public sealed class LedgerBalanceCommand : Command<LedgerBalanceSettings>
{
    public override int Execute(CommandContext context, LedgerBalanceSettings s, CancellationToken cancellationToken)
    {
        var b = LedgerCommands.Guard(s.File, () => SettlementRun.LedgerBalances(s.File, s.Participant));
        if (s.Participant is not null && b.Count == 0)
            throw new InputException(s.File, 0, $"participant {s.Participant} has no entries in the ledger", "check the address");
        if (s.Json)
        {
            Output.Emit(Output.Json(w =>
            {
                w.WriteStartObject();
                w.WriteString("ledger", s.File);
                LedgerCommands.WriteBalances(w, b);
                w.WriteEndObject();
            }), null);
        }
        else
        {
            Output.Render([Output.Table("Balances (minor units, Wh; 'system' = deposits + imbalance, its energy = grid + losses)", "participant", "available", "escrow", "collateral", "energy (Wh)")
                .Rows(b, x => [x.Participant, x.Available.ToString(), x.Escrow.ToString(), x.Collateral.ToString(), x.EnergyWh.ToString()])], null);
        }
        return 0;
    }
}

public sealed class KeysNewSettings : CommandSettings
{
    [CommandOption("--json")]
    [Description("Print JSON instead of text.")]
    public bool Json { get; init; }

    [CommandOption("--out <FILE>")]
    [Description("Write the key pair to FILE instead of standard output.")]
    public string? Out { get; init; }
}

/// <summary>opente keys new: a fresh secp256k1 key pair (Ethereum address + private key).</summary>
public sealed class KeysNewCommand : Command<KeysNewSettings>
{
    public override int Execute(CommandContext context, KeysNewSettings s, CancellationToken cancellationToken)
    {
        var k = KeyPair.Generate();
        Output.Emit(s.Json
            ? Output.Json(w => { w.WriteStartObject(); w.WriteString("address", k.Address); w.WriteString("privateKey", k.PrivateKeyHex); w.WriteEndObject(); })
            : $"address     {k.Address}\nprivate key {k.PrivateKeyHex}", s.Out);
        return 0;
    }
}

internal static class LedgerCommands
{
    public static T Guard<T>(string file, Func<T> f)
    {
        try
        {
            return f();
        }
        catch (FileNotFoundException)
        {
            throw new InputException(file, 0, "no such ledger file", "check the path");
        }
        catch (Microsoft.Data.Sqlite.SqliteException e)
        {
            throw new InputException(file, 0, $"not a readable ledger ({e.Message})", "give a ledger written by 'opente settle --ledger'");
        }
        catch (FormatException e)
        {
            throw new InputException(file, 0, $"a ledger entry cannot be decoded ({e.Message})", "run 'opente ledger verify' to find it");
        }
    }

    public static void WriteBalances(System.Text.Json.Utf8JsonWriter w, IReadOnlyList<ParticipantBalance> b)
    {
        w.WriteStartArray("balances");
        foreach (var x in b)
        {
            w.WriteStartObject();
            w.WriteString("participant", x.Participant);
            w.WriteNumber("available", x.Available);
            w.WriteNumber("escrow", x.Escrow);
            w.WriteNumber("collateral", x.Collateral);
            w.WriteNumber("energyWh", x.EnergyWh);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }
}
