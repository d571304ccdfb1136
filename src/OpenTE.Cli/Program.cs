using System.Runtime;

namespace OpenTE.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        StartupProfile.Start(args);
        return CliApp.Run(args, Console.Out, Console.Error);
    }
}

/// <summary>
/// The runtime's startup profile (<see cref="ProfileOptimization"/>, "multicore JIT"): each command records which methods its
/// process needed, in order, and the next run of the same command prepares them on a second core while the first one parses
/// its arguments and reads the case — the JIT's work for the generic code that cannot be precompiled, and the loading of the
/// precompiled methods and their types, leave the path of the command. One profile per command (and per --model), in
/// $XDG_CACHE_HOME/opente/startup (~/.cache/opente/startup); OPENTE_STARTUP_PROFILE=0 turns it off. A profile that cannot be
/// written (read-only home) only means the command runs without one.
/// </summary>
internal static class StartupProfile
{
    public static void Start(string[] args)
    {
        try
        {
            if (Environment.GetEnvironmentVariable("OPENTE_STARTUP_PROFILE") == "0") return;
            // a known command only (a mistyped one must not leave a profile behind); the OPF's two models load different code
            if (args.Length == 0 || !CliApp.TopLevelCommands.Contains(args[0])) return;
            string name = args[0];
            int model = Array.IndexOf(args, "--model");
            if (model >= 0 && model + 1 < args.Length && args[model + 1] is "dc" or "ac") name += "-" + args[model + 1];
            string? cache = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            if (string.IsNullOrEmpty(cache))
            {
                string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
                if (string.IsNullOrEmpty(home)) return;
                cache = Path.Combine(home, ".cache");
            }
            string root = Path.Combine(cache, "opente", "startup");
            Directory.CreateDirectory(root);
            ProfileOptimization.SetProfileRoot(root);
            ProfileOptimization.StartProfile(name + ".profile");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            // no profile: the command runs as without one
        }
    }
}
