using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace OpenTE.Settlement.Ethereum.Tests;

/// <summary>
/// A local anvil chain (npm package @foundry-rs/anvil-linux-amd64, pinned in contracts/package.json) on
/// 127.0.0.1 and a free port, started once for the test class and stopped by its pid. The contracts are
/// compiled with solc-js (contracts/build.js) first. Without node/npm the tests are skipped with a message.
/// </summary>
public sealed class Anvil : IDisposable
{
    /// <summary>anvil's first well-known development account (public test key, funded only on the local chain).</summary>
    public const string OperatorKey = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

    public static readonly string Root = FindRoot();
    public static string Contracts => Path.Combine(Root, "contracts");
    public static string AnvilBin => Path.Combine(Contracts, "node_modules", "@foundry-rs", "anvil-linux-amd64", "bin", "anvil");
    public static string Artifact(string name) => Path.Combine(Contracts, "build", name + ".json");

    private static readonly Lazy<string?> Setup = new(Prepare);

    /// <summary>Null when the chain can be used, else why not.</summary>
    public static string? Unavailable => Setup.Value;

    private readonly Process? _proc;
    public string Url { get; } = "";

    public Anvil()
    {
        if (Unavailable is not null) return;
        int port;
        using (var l = new TcpListener(IPAddress.Loopback, 0)) { l.Start(); port = ((IPEndPoint)l.LocalEndpoint).Port; l.Stop(); }
        Url = $"http://127.0.0.1:{port}";
        var psi = new ProcessStartInfo(AnvilBin, ["--host", "127.0.0.1", "--port", port.ToString(), "--chain-id", "31337", "--quiet", "--prune-history"])
        { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        _proc = Process.Start(psi)!;
        _proc.OutputDataReceived += (_, _) => { };
        _proc.ErrorDataReceived += (_, _) => { };
        _proc.BeginOutputReadLine();
        _proc.BeginErrorReadLine();
        using var http = new HttpClient();
        var sw = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                var r = http.PostAsync(Url, new StringContent("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"eth_chainId\",\"params\":[]}", System.Text.Encoding.UTF8, "application/json")).Result;
                if (r.IsSuccessStatusCode) break;
            }
            catch (AggregateException) { }
            if (sw.Elapsed > TimeSpan.FromSeconds(20)) throw new InvalidOperationException("anvil did not answer within 20 s");
            Thread.Sleep(50);
        }
    }

    private static string FindRoot()
    {
        var d = new DirectoryInfo(AppContext.BaseDirectory);
        while (d is not null && !File.Exists(Path.Combine(d.FullName, "OpenTE.slnx"))) d = d.Parent;
        return d?.FullName ?? throw new InvalidOperationException("repository root not found");
    }

    private static string? Prepare()
    {
        if (!OperatingSystem.IsLinux()) return "the anvil npm package used here is for linux-x64";
        if (!File.Exists(AnvilBin))
        {
            if (Run("npm", "ci --no-audit --no-fund", Contracts, 300) is { } err) return $"anvil not installed and 'npm ci' in contracts/ failed ({err}); run it by hand";
        }
        if (!File.Exists(AnvilBin)) return "anvil binary missing after npm ci";
        if (Run("node", "build.js", Contracts, 120) is { } e2) return $"compiling the contracts failed: {e2}";
        return null;
    }

    private static string? Run(string file, string args, string dir, int seconds)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo(file, args) { WorkingDirectory = dir, UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true })!;
            var err = p.StandardError.ReadToEndAsync();
            p.StandardOutput.ReadToEnd();
            if (!p.WaitForExit(seconds * 1000)) { p.Kill(); return "timed out"; }
            return p.ExitCode == 0 ? null : err.Result.Split('\n').FirstOrDefault(l => l.Contains("rror")) ?? $"exit {p.ExitCode}";
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return $"{file} not found ({e.Message})";
        }
    }

    public void Dispose()
    {
        if (_proc is null) return;
        try { _proc.Kill(); } catch (InvalidOperationException) { }
        _proc.WaitForExit(5000);
        _proc.Dispose();
    }
}

/// <summary>A fact that is skipped, with the reason, when node/npm/anvil cannot be used here.</summary>
public sealed class ChainFactAttribute : FactAttribute
{
    public ChainFactAttribute()
    {
        if (Anvil.Unavailable is { } why) Skip = "Ethereum tests skipped: " + why;
    }
}
