using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace OpenTE.Settlement.Ethereum.Tests;

/// <summary>A contract artifact older than its Solidity source is refused before anything is deployed (no node needed).</summary>
public sealed class ArtifactTests : IDisposable
{
    private readonly List<string> _roots = [];

    /// <summary>The temporary layouts are removed after each test (issue #17: they were left in /tmp).</summary>
    public void Dispose()
    {
        foreach (var r in _roots) if (Directory.Exists(r)) Directory.Delete(r, recursive: true);
    }

    private (string Artifact, string Sol) Layout(string source, string? recordedHash, bool withSource = true)
    {
        var root = Path.Combine(Path.GetTempPath(), "opente-artifact-" + Guid.NewGuid().ToString("N")[..8]);
        _roots.Add(root);
        Directory.CreateDirectory(Path.Combine(root, "build"));
        var sol = Path.Combine(root, "X.sol");
        if (withSource) File.WriteAllText(sol, source);
        var artifact = Path.Combine(root, "build", "X.json");
        var fields = recordedHash is null ? "" : $",\"source\":\"X.sol\",\"sourceSha256\":\"{recordedHash}\"";
        File.WriteAllText(artifact, "{\"abi\":[],\"bytecode\":\"0x6000\"" + fields + "}");
        return (artifact, sol);
    }

    private static string? Stale(string artifact)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(artifact));
        return SettlementBackends.StaleBecause(artifact, doc.RootElement);
    }

    private static string Sha(string s) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(s)));

    [Fact]
    public void An_artifact_built_from_its_current_source_is_accepted()
    {
        var (artifact, _) = Layout("contract X {}", Sha("contract X {}"));
        Assert.Null(Stale(artifact));
    }

    [Fact]
    public void An_artifact_whose_source_changed_is_refused_with_the_reason()
    {
        var (artifact, sol) = Layout("contract X {}", Sha("contract X {}"));
        File.AppendAllText(sol, "\n// changed");
        Assert.Contains("another version of X.sol", Stale(artifact));
    }

    [Fact]
    public void An_artifact_without_a_source_hash_is_refused_when_the_source_is_beside_it()
    {
        var (artifact, _) = Layout("contract X {}", null);
        Assert.Contains("older build.js", Stale(artifact));
        var (alone, _) = Layout("", null, withSource: false);
        Assert.Null(Stale(alone)); // an artifact shipped without its source is not checked
    }
}
