using System.Numerics;
using OpenTE.Grid.Model;
using OpenTE.Grid.PowerFlow;
using Xunit;

namespace OpenTE.Grid.Tests;

/// <summary>
/// <see cref="Admittance.Build"/> assembles Ybus row by row straight from the branches (no triplet list). It must give the
/// matrix that summing the triplets gives — (f,f) (f,t) (t,f) (t,t) per in-service branch, then every bus's shunt, equal
/// entries added in that order — bit for bit: same pattern, same values to the last bit. Checked on real cases and on random
/// changes of them that reach every path: parallel branches, a branch from a bus to itself, a hub with more neighbours than the
/// short-row sort handles (heap sort), isolated buses and out-of-service branches.
/// </summary>
public class AdmittanceAssemblyTests
{
    private static ComplexCsr FromTriplets(Network net, Admittance adm)
    {
        var entries = new List<(int, int, Complex)>();
        for (int l = 0; l < net.Branches.Length; l++)
        {
            var br = net.Branches[l];
            int f = adm.FromBus[l], t = adm.ToBus[l];
            if (!br.InService || net.Buses[f].Type == BusType.Isolated || net.Buses[t].Type == BusType.Isolated) continue;
            entries.Add((f, f, adm.Yff[l]));
            entries.Add((f, t, adm.Yft[l]));
            entries.Add((t, f, adm.Ytf[l]));
            entries.Add((t, t, adm.Ytt[l]));
        }
        for (int i = 0; i < net.BusCount; i++) entries.Add((i, i, new Complex(net.Buses[i].Gs, net.Buses[i].Bs) / net.BaseMva));
        return ComplexCsr.FromTriplets(net.BusCount, net.BusCount, entries);
    }

    private static void AssertSameBits(ComplexCsr expected, ComplexCsr actual)
    {
        Assert.Equal(expected.RowPtr, actual.RowPtr);
        Assert.Equal(expected.ColIdx, actual.ColIdx);
        Assert.Equal(expected.Values.Length, actual.Values.Length);
        for (int p = 0; p < expected.Values.Length; p++)
        {
            Assert.True(BitConverter.DoubleToInt64Bits(expected.Values[p].Real) == BitConverter.DoubleToInt64Bits(actual.Values[p].Real)
                && BitConverter.DoubleToInt64Bits(expected.Values[p].Imaginary) == BitConverter.DoubleToInt64Bits(actual.Values[p].Imaginary),
                $"entry {p}: {expected.Values[p]} against {actual.Values[p]}");
        }
    }

    [Theory]
    [InlineData("case9")]
    [InlineData("case118")]
    [InlineData("case300")]
    [InlineData("case_ACTIVSg2000")]
    public void Ybus_equals_the_summed_triplets_bit_for_bit(string name)
    {
        var net = TestData.Load(name);
        var adm = Admittance.Build(net);
        AssertSameBits(FromTriplets(net, adm), adm.Ybus);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public void Ybus_of_randomly_changed_networks_equals_the_summed_triplets_bit_for_bit(int seed)
    {
        var rnd = new Random(seed);
        var baseNet = TestData.Load(seed % 2 == 0 ? "case118" : "case300");
        var buses = baseNet.Buses.ToList();
        var branches = baseNet.Branches.ToList();
        int nb = buses.Count;
        Branch RandomBranch(int from, int to) => new(from, to, 0.001 + 0.05 * rnd.NextDouble(), 0.01 + 0.2 * rnd.NextDouble(),
            0.1 * rnd.NextDouble(), 0, 0, 0, rnd.Next(3) == 0 ? 0.9 + 0.2 * rnd.NextDouble() : 0, rnd.Next(4) == 0 ? 10 * rnd.NextDouble() - 5 : 0, 1, -360, 360);
        // parallel copies of existing branches (same ends, also reversed)
        for (int k = 0; k < 20; k++)
        {
            var b = branches[rnd.Next(branches.Count)];
            branches.Add(rnd.Next(2) == 0 ? RandomBranch(b.From, b.To) : RandomBranch(b.To, b.From));
        }
        // a hub: one bus linked to 40–80 others (a row longer than the insertion sort's 32), some of them twice
        int hub = buses[rnd.Next(nb)].Id;
        int spokes = 40 + rnd.Next(41);
        for (int k = 0; k < spokes; k++)
        {
            int other = buses[rnd.Next(nb)].Id;
            branches.Add(rnd.Next(2) == 0 ? RandomBranch(hub, other) : RandomBranch(other, hub));
        }
        // branches from a bus to itself
        for (int k = 0; k < 3; k++)
        {
            int at = buses[rnd.Next(nb)].Id;
            branches.Add(RandomBranch(at, at));
        }
        // out of service, and isolated buses (their branches are open at that end)
        for (int k = 0; k < 10; k++)
        {
            int l = rnd.Next(branches.Count);
            branches[l] = branches[l] with { Status = 0 };
        }
        for (int k = 0; k < 3; k++)
        {
            int i = rnd.Next(nb);
            buses[i] = buses[i] with { Type = BusType.Isolated };
        }
        // shunts on random buses
        for (int k = 0; k < 15; k++)
        {
            int i = rnd.Next(nb);
            buses[i] = buses[i] with { Gs = 50 * rnd.NextDouble() - 25, Bs = 100 * rnd.NextDouble() - 50 };
        }
        // a shuffled branch order changes the summation order: both must follow it
        for (int k = branches.Count - 1; k > 0; k--)
        {
            int j = rnd.Next(k + 1);
            (branches[k], branches[j]) = (branches[j], branches[k]);
        }
        var net = new Network(baseNet.Name + "-changed", baseNet.BaseMva, buses, baseNet.Generators, branches);
        var adm = Admittance.Build(net);
        AssertSameBits(FromTriplets(net, adm), adm.Ybus);
        int hubIndex = net.BusIndex[hub];
        Assert.True(adm.Ybus.RowPtr[hubIndex + 1] - adm.Ybus.RowPtr[hubIndex] > 32 || net.Buses[hubIndex].Type == BusType.Isolated,
            "the hub's row should be long enough for the heap sort");
    }
}
