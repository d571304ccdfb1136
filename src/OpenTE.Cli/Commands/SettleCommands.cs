using System.ComponentModel;
using OpenTE.Grid;
using OpenTE.Settlement;
using OpenTE.Settlement.Ethereum;
using OpenTE.Settlement.Ledger;
using Spectre.Console;
using Spectre.Console.Cli;
using Spectre.Console.Rendering;
using OpenTE.Grid.Input;

namespace OpenTE.Cli.Commands;

public sealed class SettleSettings : OutputSettings
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

    [CommandOption("--carbon <FILE>")]
    [Description("Emission data (JSON, docs/carbon.md): each settled trade's change of emissions is posted as grams CO₂ and priced as a carbon charge or credit (on either backend: the contract's postCarbon).")]
    public string? Carbon { get; init; }

    [CommandOption("--carbon-price <P>")]
    [Description("Carbon price in minor currency units per tonne CO₂ (overrides the carbon file's carbonPricePerTonne).")]
    public double? CarbonPrice { get; init; }

    [CommandOption("--at <TIME>")]
    [Description("Engine clock after the replay, ISO-8601 with offset (default: now). Trades without meter data are refunded once their deadline is before it.")]
    public string? At { get; init; }

    [CommandOption("--open-at <TIME>")]
    [Description("Clock at which deposits and commitments are submitted (default: one second before the earliest interval).")]
    public string? OpenAt { get; init; }

    [CommandOption("--backend <NAME>")]
    [Description("Where the escrow rules run: embedded (default, this process) or ethereum (the EnergyEscrow contract on a chain).")]
    public string Backend { get; init; } = "embedded";

    [CommandOption("--rpc <URL>")]
    [Description("Ethereum backend: the node's JSON-RPC URL (default http://127.0.0.1:8545; a dev chain such as anvil: the replay sets block times).")]
    public string? Rpc { get; init; }

    [CommandOption("--operator-key <HEX>")]
    [Description("The operator's private key: signs a checkpoint (entry count, head hash) of the --ledger after every write batch; with the ethereum backend it also deploys, registers meters, relays and pays the deposits.")]
    public string? OperatorKey { get; init; }

    [CommandOption("--operator-key-file <FILE>")]
    [Description("A file holding the operator's private key (hex), instead of --operator-key.")]
    public string? OperatorKeyFile { get; init; }

    [CommandOption("--artifact <FILE>")]
    [Description("Ethereum backend: the compiled contract (default contracts/build/EnergyEscrow.json of the repository).")]
    public string? Artifact { get; init; }

    [CommandOption("--contract <ADDRESS>")]
    [Description("Ethereum backend: use this deployed EnergyEscrow (same market rules and operator) instead of deploying one.")]
    public string? Contract { get; init; }

    public override ValidationResult Validate() =>
        OperatorKey is not null && OperatorKeyFile is not null ? ValidationResult.Error("give --operator-key or --operator-key-file, not both")
        : Backend != "ethereum" && (Rpc ?? (Ledger is null ? OperatorKey ?? OperatorKeyFile : null) ?? Artifact ?? Contract) is not null
            ? ValidationResult.Error("--rpc, --operator-key, --operator-key-file, --artifact and --contract need --backend ethereum (the operator key also signs a --ledger)")
        : CarbonPrice is not null && Carbon is null ? ValidationResult.Error("--carbon-price needs --carbon FILE")
        : CarbonPrice is { } cp && !(cp >= 0 && cp <= 1e12) ? ValidationResult.Error("--carbon-price must be a number ≥ 0 (minor units per tonne)")
        : At is not null && !SettlementCsv.TryTime(At, out _) ? ValidationResult.Error("--at must be an ISO-8601 time with offset")
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
        string? key = s.OperatorKey;
        if (s.OperatorKeyFile is not null)
        {
            try
            {
                key = KeyFile.Read(File.ReadAllText(s.OperatorKeyFile));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"--operator-key-file: cannot read {s.OperatorKeyFile} ({e.Message}) — give a readable file holding the key in hex");
            }
        }
        KeyPair? signer = null;
        if (key is not null && s.Ledger is not null)
        {
            try
            {
                signer = KeyPair.FromPrivateKey(key.Trim());
            }
            catch (Exception e) when (e is FormatException or ArgumentException)
            {
                throw new UsageException($"--operator-key: the operator key is not a valid secp256k1 private key (64 hex digits) — give the operator's key");
            }
        }
        var make = SettlementBackends.Prepare(new BackendOptions
        {
            Backend = s.Backend, Rpc = s.Rpc ?? SettlementBackends.DefaultRpc, OperatorKey = s.Backend == "ethereum" ? key : null, Artifact = s.Artifact, Contract = s.Contract,
        });
        var carbon = s.Carbon is null ? null : OpenTE.Market.Carbon.CarbonData.Read(s.Carbon, name => CaseLocator.Load(name).Network, s.CarbonPrice);
        ISettlementBackend? made = null;
        var r = LedgerCommands.Guard(s.Ledger ?? "", () => SettlementRun.Run(s.Trades, s.MeterData, market, (rules, start) => made = make(rules, start), s.Ledger, at, openAt,
            ledgerSigner: signer, carbon: carbon));
        var contract = (made as EthereumBackend)?.Address;
        if (s.Json)
        {
            Output.Emit(r.ToJson(s.Ledger, contract is null ? null : (s.Rpc ?? SettlementBackends.DefaultRpc, contract, ((EthereumBackend)made!).DeployBlock)), s.Out);
        }
        else
        {
            var items = new List<IRenderable>
            {
                new Markup($"[bold]{Markup.Escape(r.Market)}[/]: {r.Trades} commitments, {r.Opened} opened, [{(r.Refused == 0 ? "green" : "red")}]{r.Refused} refused[/]; " +
                           $"{r.Settled} settled, {r.Refunded} refunded, {r.StillOpen} still open; readings {r.ReadingsAccepted} accepted, " +
                           $"{r.ReadingsDuplicate} duplicate, [{(r.ReadingsConflicting == 0 ? "green" : "red")}]{r.ReadingsConflicting} conflicting[/], {r.ReadingsRefused} refused; " +
                           $"{r.Postings} postings ({r.NewPostings} new{(s.Ledger is null ? "; no --ledger: nothing stored" : $" in {Markup.Escape(s.Ledger)}, {r.LedgerEntries} entries")})" +
                           (contract is null ? ".\n" : $"; backend ethereum, contract [bold]{contract}[/] on {Markup.Escape(s.Rpc ?? SettlementBackends.DefaultRpc)}" +
                               (s.Ledger is null ? "" : " (ledger rebuilt from its events)") + ".\n")),
                Output.Table("Participants (minor units, Wh)", "participant", "available", "escrow", "collateral", "energy (Wh)")
                    .Rows(r.Balances, b => [b.Participant, b.Available.ToString(), b.Escrow.ToString(), b.Collateral.ToString(), b.EnergyWh.ToString()]),
            };
            if (r.Carbon)
            {
                items.Add(Output.Table($"Carbon (price {carbon!.PricePerTonne:0.##} per tonne, buyer's share {carbon.BuyerShare:P0}; + = charge, − = credit)",
                        "participant", "CO₂ (g)", "carbon money (minor units)")
                    .Rows(r.Balances, b => [b.Participant, b.Co2Grams.ToString(), b.CarbonMoney.ToString()]));
                var ct = r.TradeOutcomes.Where(t => t.Co2Grams != 0 || t.CarbonMoney != 0).ToList();
                items.Add(new Markup($"{ct.Count} trades with a carbon adjustment: Σ {ct.Sum(t => t.Co2Grams)} g CO₂, Σ {ct.Sum(t => t.CarbonMoney)} carbon money; " +
                                     $"community carbon account {r.CarbonAccountGrams} g, {r.CarbonAccountMoney}; Σ CO₂ over all accounts {r.Co2Total}\n"));
                if (r.CarbonRefused.Count > 0)
                    items.Add(Output.Table("Carbon adjustments refused", "trade", "reason").Rows(r.CarbonRefused, x => [x.Id, x.Reason]));
            }
            var refused = r.TradeOutcomes.Where(t => t.Status == "refused").ToList();
            if (refused.Count > 0)
                items.Add(Output.Table("Refused commitments", "line", "reason").Rows(refused, t => [t.Line.ToString(), t.Reason ?? ""]));
            var flagged = r.ReadingOutcomes.Where(x => x.Status is "conflict" or "refused" or "not-yet" or "late").ToList();
            if (flagged.Count > 0)
                items.Add(Output.Table("Readings not used", "line", "meter", "status", "reason").Rows(flagged, x => [x.Line.ToString(), x.Meter, x.Status, x.Reason ?? ""]));
            Output.Render(items, s.Out);
        }
        return 0;
    }

    private static long Time(string s) => SettlementCsv.TryTime(s, out var t) ? t : throw new UsageException($"'{s}' is not an ISO-8601 time with offset");
}

public sealed class LedgerFileSettings : JsonSettings
{
    [CommandArgument(0, "<FILE>")]
    [Description("The SQLite ledger file.")]
    public string File { get; init; } = "";
}

public sealed class LedgerVerifySettings : JsonSettings
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

    [CommandOption("--operator <ADDRESS>")]
    [Description("The operator's address: the latest checkpoint must be signed by it (without it, any valid signer is reported).")]
    public string? Operator { get; init; }

    [CommandOption("--against <FILE>")]
    [Description("Also compare with this ledger (as 'ledger compare FILE OTHER'): both verify, equal balances per account and commodity, same postings.")]
    public string? Against { get; init; }
}

/// <summary>opente ledger verify: recompute the hash chain and the balance of every entry; exit 1 at the first bad entry.</summary>
public sealed class LedgerVerifyCommand : Command<LedgerVerifySettings>
{
    public override int Execute(CommandContext context, LedgerVerifySettings s, CancellationToken cancellationToken)
    {
        if (s.Against is not null)
        {
            if (s.ExpectHead is not null || s.ExpectCount is not null) throw new UsageException("--against compares two ledgers; check --expect-head/--expect-count in a separate 'ledger verify'");
            return LedgerCompareCommand.Compare(s.File, s.Against, s.Json);
        }
        if (s.Operator is not null && !Addr.IsAddress(s.Operator)) throw new UsageException($"--operator: '{s.Operator}' is not an address (0x and 40 hex digits)");
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var v = LedgerCommands.Guard(s.File, () => SqliteLedger.Verify(s.File, s.ExpectHead, s.ExpectCount, s.Operator));
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
                if (v.Signer is not null) w.WriteString("signer", v.Signer);
                else w.WriteNull("signer");
                if (v.SignedEntries is { } n) w.WriteNumber("signedEntries", n);
                else w.WriteNull("signedEntries");
                w.Number("verifySeconds", secs);
                w.WriteEndObject();
            }), null);
        }
        else if (v.Ok)
            CliApp.Io.Out.WriteLine($"ok: {v.Entries} entries verified, head {v.HeadHash}" +
                (v.Signer is null ? "; no signed checkpoint (proves only that the chain is consistent)" : $"; signed by {v.Signer} at entry {v.SignedEntries}") + $" ({secs:0.000} s)");
        else
            CliApp.Io.Out.WriteLine($"FAILED at entry {v.FirstBadIndex}: {v.Reason} ({v.Entries} entries before it are good)");
        return v.Ok ? 0 : 1;
    }
}

public sealed class LedgerBalanceSettings : JsonSettings
{
    [CommandArgument(0, "<FILE>")]
    [Description("The SQLite ledger file.")]
    public string File { get; init; } = "";

    [CommandOption("--participant <ID>")]
    [Description("Only this participant (its address), or 'system'.")]
    public string? Participant { get; init; }

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
                SettleReportJson.WriteBalances(w, b, b.Any(x => x.Co2Grams != 0));
                w.WriteEndObject();
            }), null);
        }
        else
        {
            if (b.Any(x => x.Co2Grams != 0))
                Output.Render([Output.Table("Balances (minor units, Wh, g CO₂; 'system' = deposits + imbalance + carbon account, its energy = grid + losses)", "participant", "available", "escrow", "collateral", "energy (Wh)", "CO₂ (g)")
                    .Rows(b, x => [x.Participant, x.Available.ToString(), x.Escrow.ToString(), x.Collateral.ToString(), x.EnergyWh.ToString(), x.Co2Grams.ToString()])], null);
            else
                Output.Render([Output.Table("Balances (minor units, Wh; 'system' = deposits + imbalance, its energy = grid + losses)", "participant", "available", "escrow", "collateral", "energy (Wh)")
                    .Rows(b, x => [x.Participant, x.Available.ToString(), x.Escrow.ToString(), x.Collateral.ToString(), x.EnergyWh.ToString()])], null);
        }
        return 0;
    }
}

public sealed class LedgerCompareSettings : JsonSettings
{
    [CommandArgument(0, "<A>")]
    [Description("A ledger file (e.g. written by 'opente settle --ledger').")]
    public string A { get; init; } = "";

    [CommandArgument(1, "<B>")]
    [Description("The other ledger file (e.g. written by 'opente ledger import-chain').")]
    public string B { get; init; } = "";
}

/// <summary>opente ledger compare: both chains verify, every account's balance per commodity is equal, the postings are the same multiset; exit 0 equal, 1 different.</summary>
public sealed class LedgerCompareCommand : Command<LedgerCompareSettings>
{
    public override int Execute(CommandContext context, LedgerCompareSettings s, CancellationToken cancellationToken) => Compare(s.A, s.B, s.Json);

    internal static int Compare(string a, string b, bool json)
    {
        LedgerCommands.Guard(a, () => SqliteLedger.Verify(a));
        var r = LedgerCommands.Guard(b, () => LedgerComparison.Compare(a, b));
        if (json)
        {
            Output.Emit(Output.Json(w =>
            {
                w.WriteStartObject();
                w.WriteString("a", a);
                w.WriteString("b", b);
                w.WriteBoolean("equal", r.Equal);
                w.WriteBoolean("aVerified", r.A.Ok);
                w.WriteBoolean("bVerified", r.B.Ok);
                w.WriteNumber("aEntries", r.A.Entries);
                w.WriteNumber("bEntries", r.B.Entries);
                w.WriteNumber("accounts", r.Accounts);
                w.WriteBoolean("sameOrder", r.SameOrder);
                if (r.First is { } d)
                {
                    w.WriteStartObject("firstDifference");
                    w.WriteString("kind", d.Kind);
                    w.WriteString("message", d.Message);
                    if (d.Key is not null) w.WriteString("key", d.Key);
                    if (d.Account is not null) w.WriteString("account", d.Account);
                    if (d.Commodity is { } c) w.WriteString("commodity", LedgerComparison.Unit(c));
                    if (d.A is { } x) w.WriteNumber("a", x); else w.WriteNull("a");
                    if (d.B is { } y) w.WriteNumber("b", y); else w.WriteNull("b");
                    w.WriteEndObject();
                }
                else w.WriteNull("firstDifference");
                w.WriteEndObject();
            }), null);
        }
        else if (r.Equal)
            CliApp.Io.Out.WriteLine($"equal: both chains verify ({r.A.Entries} and {r.B.Entries} entries), {r.Accounts} account balances equal, same postings{(r.SameOrder ? " in the same order" : " (in another order)")}");
        else
            CliApp.Io.Out.WriteLine($"DIFFERENT: {r.First!.Message}");
        return r.Equal ? 0 : 1;
    }
}

public sealed class LedgerImportChainSettings : JsonSettings
{
    [CommandOption("--rpc <URL>")]
    [Description("The Ethereum node's JSON-RPC URL (default http://127.0.0.1:8545).")]
    public string? Rpc { get; init; }

    [CommandOption("--contract <ADDRESS>")]
    [Description("The EnergyEscrow contract whose events are read.")]
    public string? Contract { get; init; }

    [CommandOption("--ledger <FILE>")]
    [Description("The SQLite ledger to write (created if missing; postings already in it are not posted again).")]
    public string? Ledger { get; init; }

    [CommandOption("--from-block <N>")]
    [Description("First block to read (default 0; start at or before the deployment for the deposit keys of 'opente settle').")]
    public long FromBlock { get; init; }

    [CommandOption("--to-block <N>")]
    [Description("Last block to read (default: the latest).")]
    public long? ToBlock { get; init; }

    public override ValidationResult Validate() =>
        Contract is null ? ValidationResult.Error("--contract ADDRESS is required (the address printed by 'opente settle --backend ethereum')")
        : !Addr.IsAddress(Contract) ? ValidationResult.Error($"--contract '{Contract}' is not an address (0x and 40 hex digits)")
        : Ledger is null ? ValidationResult.Error("--ledger FILE is required (the ledger to write)")
        : FromBlock < 0 || ToBlock < FromBlock ? ValidationResult.Error("--from-block must be ≥ 0 and ≤ --to-block")
        : ValidationResult.Success();
}

/// <summary>opente ledger import-chain: rebuild the double-entry ledger from an EnergyEscrow contract's events.</summary>
public sealed class LedgerImportChainCommand : Command<LedgerImportChainSettings>
{
    public override int Execute(CommandContext context, LedgerImportChainSettings s, CancellationToken cancellationToken)
    {
        var rpc = s.Rpc ?? SettlementBackends.DefaultRpc;
        SettlementBackends.ChainId(rpc);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        ChainHistory h;
        try
        {
            h = ChainAudit.Read(rpc, Addr.Normalize(s.Contract!), s.FromBlock, s.ToBlock);
        }
        catch (Exception e) when (e is Nethereum.JsonRpc.Client.RpcResponseException or Nethereum.JsonRpc.Client.RpcClientUnknownException or InvalidDataException)
        {
            throw new UsageException($"--contract: reading the events of {s.Contract} failed ({e.Message}) — check the address and the block range");
        }
        if (h.Events == 0)
            CliApp.Io.Err.WriteLine($"warning: no events from {s.Contract} in blocks {h.FromBlock}–{h.ToBlock} (is it the EnergyEscrow address?)");
        var r = LedgerCommands.Guard(s.Ledger!, () =>
        {
            using var ledger = SqliteLedger.Open(s.Ledger!);
            int added = 0;
            // carbon:ID goes into its trade's settle entry, as 'settle --ledger' writes it (docs/carbon.md), unless the settlement is already in the ledger
            var postings = CarbonFold.FoldAll(h.Postings, id => ledger.Get("settle:" + id) is null && ledger.Get("refund:" + id) is null);
            for (int i = 0; i < postings.Count; i += 1000) added += ledger.PostBatch([.. postings.Skip(i).Take(1000)]);
            return (Added: added, Entries: ledger.Count, Head: ledger.HeadHash);
        });
        double secs = sw.Elapsed.TotalSeconds;
        if (s.Json)
        {
            Output.Emit(Output.Json(w =>
            {
                w.WriteStartObject();
                w.WriteString("rpc", rpc);
                w.WriteString("contract", Addr.Normalize(s.Contract!));
                w.WriteNumber("fromBlock", h.FromBlock);
                w.WriteNumber("toBlock", h.ToBlock);
                w.WriteNumber("events", h.Events);
                w.WriteNumber("postings", h.Postings.Count);
                w.WriteNumber("newPostings", r.Added);
                w.WriteString("ledger", s.Ledger);
                w.WriteNumber("ledgerEntries", r.Entries);
                w.WriteString("ledgerHead", r.Head);
                w.WriteNumber("trades", h.Trades.Count);
                w.WriteNumber("settled", h.Trades.Values.Count(t => t.State == TradeState.Settled));
                w.WriteNumber("refunded", h.Trades.Values.Count(t => t.State == TradeState.Refunded));
                w.WriteNumber("open", h.Trades.Values.Count(t => t.State == TradeState.Open));
                w.WriteNumber("readingsAccepted", h.ReadingsAccepted);
                w.Strings("conflicts", h.Conflicts);
                w.Number("seconds", secs);
                w.WriteEndObject();
            }), null);
        }
        else
            CliApp.Io.Out.WriteLine($"imported {h.Events} events of {s.Contract} (blocks {h.FromBlock}–{h.ToBlock}): {h.Postings.Count} postings ({r.Added} new) into {s.Ledger}, " +
                $"{r.Entries} entries, head {r.Head}; {h.Trades.Count} trades, {h.Conflicts.Count} conflicting readings ({secs:0.000} s)");
        return 0;
    }
}

public sealed class KeysNewSettings : OutputSettings
{
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
}

/// <summary>
/// A key file as a user has it: the key alone in hex (0x optional), the text `opente keys new --out FILE` writes
/// ("address …" / "private key 0x…"), or its --json form ({ "privateKey": "0x…" }). Issue #17: `keys new --out` wrote a
/// file that `settle --operator-key-file` then refused.
/// </summary>
public static class KeyFile
{
    public static string Read(string text)
    {
        string t = text.Trim();
        if (t.StartsWith('{'))
        {
            try
            {
                using var doc = System.Text.Json.JsonDocument.Parse(t);
                if (doc.RootElement.TryGetProperty("privateKey", out var pk) && pk.GetString() is string k) return k.Trim();
            }
            catch (System.Text.Json.JsonException) { }
            return t;
        }
        foreach (var line in t.Split('\n'))
        {
            var l = line.Trim();
            if (l.StartsWith("private key", StringComparison.OrdinalIgnoreCase)) return l["private key".Length..].Trim();
        }
        return t;
    }
}
