using System.Diagnostics;
using OpenTE.Grid.Model;
using OpenTE.Numerics.Sparse;

namespace OpenTE.Grid.PowerFlow;

public sealed record DcPowerFlowResult(
    string Case, double SolveSeconds, IReadOnlyList<BusSolution> Buses, IReadOnlyList<GeneratorSolution> Generators,
    IReadOnlyList<BranchSolution> Branches, IReadOnlyList<string> Messages);

/// <summary>DC power flow (MATPOWER rundcpf): angles from B·θ = P, flows Bf·θ + Pfinj, reference-bus generation balancing each island.</summary>
public static class DcPowerFlow
{
    public static DcPowerFlowResult Solve(Network net)
    {
        var sw = Stopwatch.StartNew();
        var dc = new DcNetwork(net);
        int nb = net.BusCount;
        var pbus = new double[nb];
        for (int i = 0; i < nb; i++) pbus[i] = (-net.Buses[i].Pd - net.Buses[i].Gs) / net.BaseMva;
        for (int g = 0; g < net.Generators.Length; g++)
        {
            var gen = net.Generators[g];
            int i = net.BusIndex[gen.Bus];
            if (gen.InService && !dc.Dead[i]) pbus[i] += gen.Pg / net.BaseMva;
        }
        var theta = dc.Angles(pbus, r => net.Buses[r].VaDeg * Math.PI / 180);
        // injections implied by the angles: Bbus·θ + Pbusinj
        var inj = new double[nb];
        dc.Bbus.Multiply(theta, inj);
        var buses = new List<BusSolution>(nb);
        for (int i = 0; i < nb; i++)
        {
            double p = dc.Dead[i] ? 0 : (inj[i] + dc.PbusInj[i] + net.Buses[i].Gs / net.BaseMva) * net.BaseMva;
            buses.Add(new BusSolution(net.Buses[i].Id, dc.Dead[i] ? 0 : 1, theta[i] * 180 / Math.PI, p, 0));
        }
        var gens = new List<GeneratorSolution>(net.Generators.Length);
        var isRef = new HashSet<int>(dc.ReferenceBuses);
        var refAssigned = new HashSet<int>();
        for (int g = 0; g < net.Generators.Length; g++)
        {
            var gen = net.Generators[g];
            int i = net.BusIndex[gen.Bus];
            double pg = gen.InService && !dc.Dead[i] ? gen.Pg : 0;
            if (gen.InService && isRef.Contains(i) && refAssigned.Add(i))
            {
                double others = 0;
                for (int h = g + 1; h < net.Generators.Length; h++)
                    if (net.Generators[h].InService && net.Generators[h].Bus == gen.Bus) others += net.Generators[h].Pg;
                pg = buses[i].PInjectionMw + net.Buses[i].Pd - others;
            }
            gens.Add(new GeneratorSolution(g + 1, gen.Bus, pg, gen.InService ? gen.Qg : 0));
        }
        var branches = new List<BranchSolution>(net.Branches.Length);
        for (int l = 0; l < net.Branches.Length; l++)
        {
            double pf = dc.Flow(l, theta) * net.BaseMva;
            branches.Add(new BranchSolution(l + 1, net.Branches[l].From, net.Branches[l].To, pf, 0, -pf, 0));
        }
        return new DcPowerFlowResult(net.Name, sw.Elapsed.TotalSeconds, buses, gens, branches, dc.Messages);
    }
}
