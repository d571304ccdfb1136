using System.Text.RegularExpressions;
using Nethereum.Web3;

namespace OpenTE.Settlement.Ethereum;

/// <summary>Which backend runs the escrow rules, and where: what <c>opente settle --backend …</c> gives.</summary>
public sealed record BackendOptions
{
    public string Backend { get; init; } = "embedded";
    public string Rpc { get; init; } = SettlementBackends.DefaultRpc;
    /// <summary>The operator's private key (hex, 0x optional); it deploys, registers meters, relays and pays the deposits.</summary>
    public string? OperatorKey { get; init; }
    /// <summary>contracts/build/EnergyEscrow.json (null: found from the working directory or the program's folder upwards).</summary>
    public string? Artifact { get; init; }
    /// <summary>An already deployed contract to use instead of deploying one.</summary>
    public string? Contract { get; init; }
}

/// <summary>
/// The one place that turns <see cref="BackendOptions"/> into an <see cref="ISettlementBackend"/>. <see cref="Prepare"/> checks
/// everything that can be checked before a run (backend name, key, contract artifact, RPC reachable) and throws a
/// <see cref="BackendException"/> naming the option and the fix; the factory it returns makes the backend for the
/// market's rules with its clock at the replay's start.
/// </summary>
public static partial class SettlementBackends
{
    public const string DefaultRpc = "http://127.0.0.1:8545";
    public static readonly IReadOnlyList<string> Names = ["embedded", "ethereum"];
    public const string BuildHint = "run 'cd contracts && npm ci && node build.js' in the repository, or give --artifact FILE";

    public static Func<MarketRules, long, ISettlementBackend> Prepare(BackendOptions o)
    {
        switch (o.Backend)
        {
            case "embedded":
                return (rules, _) => new EmbeddedBackend(rules);
            case "ethereum":
                break;
            default:
                throw new BackendException("--backend", $"unknown backend '{o.Backend}'", $"use one of: {string.Join(", ", Names)}");
        }
        var key = o.OperatorKey?.Trim() ?? throw new BackendException("--operator-key", "the ethereum backend needs the operator's private key",
            "give --operator-key HEX or --operator-key-file FILE (on a local anvil: one of its development keys)");
        if (!KeyHex().IsMatch(key)) throw new BackendException("--operator-key", "the operator key is not 32 bytes of hex (64 hex digits, 0x optional)", "give the account's private key, e.g. from 'opente keys new'");
        try
        {
            _ = KeyPair.FromPrivateKey(key);
        }
        catch (Exception e)
        {
            throw new BackendException("--operator-key", "the operator key is not a valid secp256k1 private key", "give the account's private key, e.g. from 'opente keys new'", e);
        }
        if (o.Contract is { } c && !Addr.IsAddress(c)) throw new BackendException("--contract", $"'{c}' is not an address", "use 0x and 40 hex digits");
        var artifact = o.Artifact ?? FindArtifact() ?? throw new BackendException("--artifact", "the contract artifact contracts/build/EnergyEscrow.json was not found", BuildHint);
        if (!File.Exists(artifact)) throw new BackendException("--artifact", $"no contract artifact at {artifact}", BuildHint);
        if (!Uri.TryCreate(o.Rpc, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new BackendException("--rpc", $"'{o.Rpc}' is not an http(s) URL", $"e.g. --rpc {DefaultRpc}");
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(artifact));
            if (doc.RootElement.GetProperty("abi").ValueKind != System.Text.Json.JsonValueKind.Array || doc.RootElement.GetProperty("bytecode").GetString() is not { Length: > 2 })
                throw new System.Text.Json.JsonException("abi or bytecode missing");
            if (StaleBecause(artifact, doc.RootElement) is { } why) throw new BackendException("--artifact", $"{artifact} {why}", BuildHint);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or KeyNotFoundException or InvalidOperationException or IOException)
        {
            throw new BackendException("--artifact", $"{artifact} is not a contract artifact with abi and bytecode ({e.Message})", BuildHint, e);
        }
        long chainId = ChainId(o.Rpc);
        return (rules, start) => new EthereumBackend(o.Rpc, key, rules, artifact, chainId, start, o.Contract is null ? null : Addr.Normalize(o.Contract));
    }

    /// <summary>The chain id the node answers (eth_chainId within 10 s), or a <see cref="BackendException"/> for --rpc.</summary>
    public static long ChainId(string rpc)
    {
        try
        {
            var t = new Web3(rpc).Eth.ChainId.SendRequestAsync();
            if (!t.Wait(TimeSpan.FromSeconds(10))) throw new TimeoutException("no answer within 10 s");
            return (long)t.Result.Value;
        }
        catch (Exception e)
        {
            var inner = e is AggregateException { InnerException: { } i } ? i : e;
            throw new BackendException("--rpc", $"no Ethereum node answers at {rpc} ({Root(inner).Message})",
                "start one (e.g. contracts/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil) or give --rpc URL", inner);
        }
    }

    private static Exception Root(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e;
    }

    /// <summary>
    /// Why the artifact does not match its Solidity source beside it (contracts/X.sol for contracts/build/X.json), or null.
    /// An artifact compiled from an older source deploys the old contract, whose events and views the backend would
    /// misread: refused, not run. Without the source beside it (an artifact shipped alone) nothing is checked.
    /// </summary>
    public static string? StaleBecause(string artifact, System.Text.Json.JsonElement root)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(artifact));
        var contracts = dir is null ? null : Path.GetDirectoryName(dir);
        string source = root.TryGetProperty("source", out var s) && s.GetString() is { } name ? name : Path.GetFileNameWithoutExtension(artifact) + ".sol";
        var sol = contracts is null ? null : Path.Combine(contracts, source);
        if (sol is null || !File.Exists(sol)) return null;
        if (!root.TryGetProperty("sourceSha256", out var h) || h.GetString() is not { } recorded)
            return $"records no hash of its source {source} (built by an older build.js), so it may be stale";
        var actual = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(sol)));
        return actual == recorded ? null : $"was compiled from another version of {source} (source changed since the build)";
    }

    /// <summary>contracts/build/EnergyEscrow.json in the repository containing the working directory or the program.</summary>
    public static string? FindArtifact()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
            {
                var f = Path.Combine(d.FullName, "contracts", "build", "EnergyEscrow.json");
                if (File.Exists(f)) return f;
                if (File.Exists(Path.Combine(d.FullName, "OpenTE.slnx"))) break;
            }
        }
        return null;
    }

    [GeneratedRegex("^(0x)?[0-9a-fA-F]{64}$")]
    private static partial Regex KeyHex();
}
