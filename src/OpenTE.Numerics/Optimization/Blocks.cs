using System.Runtime.CompilerServices;
using System.Text;

namespace OpenTE.Numerics.Optimization;

/// <summary>
/// A named block of a program's variables or constraints, one element per member (a bus, a branch, a
/// generator…): element k sits at index <c>Offset + k·Stride</c> of the vector. Stride 1 is a contiguous block;
/// stride 2 interleaves two blocks element by element (<see cref="BlockLayout.AddPair"/>).
/// </summary>
public sealed class Block
{
    private readonly int[]? _members;
    private int[]? _elementOf; // member → element, −1 for none; built on first use

    internal Block(string name, int offset, int length, int stride, int[]? members)
    {
        Name = name;
        Offset = offset;
        Length = length;
        Stride = stride;
        _members = members;
    }

    public string Name { get; }
    public int Offset { get; }
    /// <summary>Number of elements.</summary>
    public int Length { get; }
    public int Stride { get; }

    /// <summary>The index (in the program's variable or constraint vector) of element k.</summary>
    public int this[int k]
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Offset + k * Stride;
    }

    /// <summary>The member (bus, branch, generator…) of element k: k itself for a block over all members.</summary>
    public int Member(int k) => _members is null ? k : _members[k];

    /// <summary>Whether member m has an element in this block.</summary>
    public bool Has(int member) => Element(member) >= 0;

    /// <summary>The index of member m's element, −1 if it has none (an isolated bus has no balance rows).</summary>
    public int IndexOf(int member) => Element(member) is var k and >= 0 ? this[k] : -1;

    /// <summary>The element of member m, −1 if it has none.</summary>
    public int Element(int member)
    {
        if (_members is null) return (uint)member < (uint)Length ? member : -1;
        var map = _elementOf ??= ElementMap();
        return (uint)member < (uint)map.Length ? map[member] : -1;
    }

    private int[] ElementMap()
    {
        int max = -1;
        foreach (int m in _members!) max = Math.Max(max, m); // not LINQ's Max: its generic code would be JIT-compiled in a cold solve
        var map = new int[max + 1];
        Arrays.Fill(map, -1);
        for (int k = 0; k < _members.Length; k++)
        {
            if (map[_members[k]] >= 0)
                throw new InvalidOperationException($"block {Name} has several elements for member {_members[k]}: look its elements up by number");
            map[_members[k]] = k;
        }
        return map;
    }

    /// <summary>Whether vector index i belongs to this block.</summary>
    public bool Contains(int index)
    {
        int d = index - Offset;
        return d >= 0 && d % Stride == 0 && d / Stride < Length;
    }

    public override string ToString() => $"{Name}[{Length}]";
}

/// <summary>The blocks of one vector (the variables, the equality rows or the inequality rows of a program), in order.</summary>
public sealed class BlockLayout
{
    private readonly List<Block> _blocks = [];
    private readonly Dictionary<string, Block> _byName = new(StringComparer.Ordinal);

    /// <summary>Length of the vector.</summary>
    public int Count { get; private set; }
    public IReadOnlyList<Block> Blocks => _blocks;

    /// <summary>A block with one element for each of <paramref name="length"/> members 0, 1, ….</summary>
    public Block Add(string name, int length) => Add(new Block(name, Count, length, 1, null), length);

    /// <summary>A block with one element for each listed member, in that order.</summary>
    public Block Add(string name, int[] members) => Add(new Block(name, Count, members.Length, 1, members), members.Length);

    /// <summary>
    /// Two blocks over the same members, interleaved: the elements of one member are adjacent
    /// (first[k] = Offset + 2k, second[k] = Offset + 2k + 1).
    /// </summary>
    public (Block First, Block Second) AddPair(string first, string second, int[] members)
    {
        var a = new Block(first, Count, members.Length, 2, members);
        var b = new Block(second, Count + 1, members.Length, 2, members);
        Register(a);
        Register(b);
        Count += 2 * members.Length;
        return (a, b);
    }

    private Block Add(Block b, int length)
    {
        Register(b);
        Count += length;
        return b;
    }

    private void Register(Block b)
    {
        if (!_byName.TryAdd(b.Name, b)) throw new ArgumentException($"a block named {b.Name} already exists");
        _blocks.Add(b);
    }

    public Block this[string name] =>
        _byName.TryGetValue(name, out var b) ? b : throw new KeyNotFoundException($"no block named {name}");

    public bool TryGet(string name, out Block block) => _byName.TryGetValue(name, out block!);

    /// <summary>The block holding vector index i and the element there (for messages: "flowLimitFrom[12]").</summary>
    public (Block Block, int Element) Locate(int index)
    {
        foreach (var b in _blocks)
            if (b.Contains(index)) return (b, (index - b.Offset) / b.Stride);
        throw new ArgumentOutOfRangeException(nameof(index), $"index {index} is in no block");
    }

    /// <summary>"name[member]" of vector index i.</summary>
    public string NameOf(int index)
    {
        var (b, k) = Locate(index);
        return $"{b.Name}[{b.Member(k)}]";
    }

    public override string ToString() => string.Join(" ", _blocks);
}

/// <summary>
/// The description of a nonlinear program by named blocks: its variables, equality rows g(x) = 0 and inequality
/// rows h(x) ≤ 0 (<see cref="INonlinearProgram"/>). A program is built by looping over its blocks and its
/// solution is read by block name and member (<see cref="BlockSolution"/>).
/// </summary>
public sealed class ProgramLayout
{
    public BlockLayout Variables { get; } = new();
    public BlockLayout Equalities { get; } = new();
    public BlockLayout Inequalities { get; } = new();

    public override string ToString()
    {
        var s = new StringBuilder();
        s.Append("variables: ").Append(Variables).Append("; g = 0: ").Append(Equalities).Append("; h ≤ 0: ").Append(Inequalities);
        return s.ToString();
    }
}

/// <summary>
/// A solution (<see cref="InteriorPointResult"/>, from the interior point or Ipopt) read through a
/// <see cref="ProgramLayout"/>: values of variable blocks, multipliers of constraint blocks and of variable bounds,
/// by block name and member. Sign conventions are the result's (L = f + λᵀg + μᵀh).
/// </summary>
public sealed class BlockSolution(ProgramLayout layout, InteriorPointResult result)
{
    public ProgramLayout Layout => layout;
    public InteriorPointResult Result => result;

    /// <summary>x of the member's element of variable block <paramref name="block"/>.</summary>
    public double Value(string block, int member) => result.X[Index(layout.Variables, block, member)];

    /// <summary>
    /// The multiplier of the member's row of constraint block <paramref name="block"/> (λ of an equality, μ ≥ 0
    /// of an inequality); NaN when the member has no row in the block (no constraint, no price).
    /// </summary>
    public double Dual(string block, int member)
    {
        if (layout.Equalities.TryGet(block, out var eq)) return eq.IndexOf(member) is var i and >= 0 ? result.Lambda[i] : double.NaN;
        var iq = layout.Inequalities[block];
        return iq.IndexOf(member) is var j and >= 0 ? result.Mu[j] : double.NaN;
    }

    /// <summary>Whether the member has a row in constraint block <paramref name="block"/>.</summary>
    public bool Has(string block, int member) =>
        (layout.Equalities.TryGet(block, out var eq) ? eq : layout.Inequalities[block]).Has(member);

    /// <summary>Multiplier (≥ 0) of the member's upper bound in variable block <paramref name="block"/>.</summary>
    public double UpperBoundDual(string block, int member) => result.MuUpper[Index(layout.Variables, block, member)];

    /// <summary>Multiplier (≥ 0) of the member's lower bound in variable block <paramref name="block"/>.</summary>
    public double LowerBoundDual(string block, int member) => result.MuLower[Index(layout.Variables, block, member)];

    private static int Index(BlockLayout l, string block, int member) =>
        l[block].IndexOf(member) is var i and >= 0 ? i : throw new ArgumentOutOfRangeException(nameof(member), $"{block} has no element for member {member}");
}
