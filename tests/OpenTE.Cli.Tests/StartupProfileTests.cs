using System.Diagnostics;
using System.Text.Json.Nodes;
using Xunit;

namespace OpenTE.Cli.Tests;

/// <summary>
/// The CLI records a startup profile per command (the runtime's multicore JIT, src/OpenTE.Cli/Program.cs) under
/// $XDG_CACHE_HOME/opente/startup, and the next run of the command prepares what it recorded on a second core. The profile may
/// change when the code runs, never what it computes; and a command must work the same when the profile is switched off, cannot be
/// written, or is damaged. Each test runs the CLI as its own process (the profile belongs to the process) with its own cache folder.
/// </summary>
public sealed class StartupProfileTests : IDisposable
{
    private readonly string _cache = Path.Combine(Path.GetTempPath(), "opente-startup-test-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_cache)) Directory.Delete(_cache, recursive: true);
        if (File.Exists(_cache)) File.Delete(_cache);
    }

    private string ProfileDir => Path.Combine(_cache, "opente", "startup");

    private (int Exit, string Json, string Stderr) Run(string? profileSwitch, params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "opente.dll");
        var psi = new ProcessStartInfo("dotnet", [dll, .. args]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.Environment["XDG_CACHE_HOME"] = _cache;
        if (profileSwitch is null) psi.Environment.Remove("OPENTE_STARTUP_PROFILE");
        else psi.Environment["OPENTE_STARTUP_PROFILE"] = profileSwitch;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(2)), $"opente {string.Join(' ', args)} did not finish");
        string json = stdout.Result;
        if (p.ExitCode == 0)
        {
            var node = JsonNode.Parse(json)!.AsObject();
            node.Remove("solveSeconds");
            json = node.ToJsonString();
        }
        return (p.ExitCode, json, stderr.Result);
    }

    [Fact]
    public void A_command_records_its_profile_and_its_next_run_prints_the_same()
    {
        var first = Run(null, "pf", "case9", "--json");
        Assert.True(first.Exit == 0, first.Stderr);
        string pf = Path.Combine(ProfileDir, "pf.profile");
        Assert.True(File.Exists(pf), $"no profile at {pf}");
        Assert.True(new FileInfo(pf).Length > 0);

        var second = Run(null, "pf", "case9", "--json");
        Assert.True(second.Exit == 0, second.Stderr);
        Assert.Equal(first.Json, second.Json);

        // one profile per command and per --model (a DC and an AC OPF load different code)
        var dc = Run(null, "opf", "case9", "--model", "dc", "--json");
        Assert.True(dc.Exit == 0, dc.Stderr);
        Assert.True(File.Exists(Path.Combine(ProfileDir, "opf-dc.profile")));
        Assert.False(File.Exists(Path.Combine(ProfileDir, "opf-ac.profile")));
    }

    [Fact]
    public void Switched_off_unwritable_or_damaged_profiles_leave_the_command_as_it_is()
    {
        var off = Run("0", "pf", "case9", "--json");
        Assert.True(off.Exit == 0, off.Stderr);
        Assert.False(Directory.Exists(_cache), "OPENTE_STARTUP_PROFILE=0 still wrote into the cache");

        // a damaged profile (garbage where the profile should be) is not a reason to fail
        Directory.CreateDirectory(ProfileDir);
        var garbage = new byte[4096];
        new Random(17).NextBytes(garbage);
        File.WriteAllBytes(Path.Combine(ProfileDir, "pf.profile"), garbage);
        var damaged = Run(null, "pf", "case9", "--json");
        Assert.True(damaged.Exit == 0, damaged.Stderr);
        Assert.Equal(off.Json, damaged.Json);
        Assert.Equal("", damaged.Stderr);

        // the cache folder cannot be made (a file is in its way): the command runs without a profile
        Directory.Delete(_cache, recursive: true);
        File.WriteAllText(_cache, "not a folder");
        var blocked = Run(null, "pf", "case9", "--json");
        Assert.True(blocked.Exit == 0, blocked.Stderr);
        Assert.Equal(off.Json, blocked.Json);
    }

    [Fact]
    public void A_mistyped_command_leaves_no_profile()
    {
        var typo = Run(null, "pff", "case9", "--json");
        Assert.NotEqual(0, typo.Exit);
        Assert.False(Directory.Exists(_cache), "a mistyped command wrote a startup profile");
    }

    /// <summary>The profile is recorded for the commands in <c>CliApp.TopLevelCommands</c>: that list must name exactly the configured ones.</summary>
    [Fact]
    public void The_list_of_profiled_commands_is_the_configured_one()
    {
        string root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "OpenTE.slnx"))) root = Path.GetDirectoryName(root) ?? throw new DirectoryNotFoundException("OpenTE.slnx");
        string app = File.ReadAllText(Path.Combine(root, "src", "OpenTE.Cli", "CliApp.cs"));
        var configured = System.Text.RegularExpressions.Regex.Matches(app, @"config\.(?:AddCommand<\w+>|AddBranch)\(""([a-z0-9-]+)""")
            .Select(m => m.Groups[1].Value).ToList();
        var listed = System.Text.RegularExpressions.Regex.Match(app, @"TopLevelCommands = \[([^\]]*)\]").Groups[1].Value
            .Split(',').Select(x => x.Trim().Trim('"')).Where(x => x.Length > 0).ToList();
        Assert.True(configured.Count >= 20, $"only {configured.Count} commands found in CliApp.cs");
        Assert.Equal(configured.Order(), listed.Order());
    }
}
