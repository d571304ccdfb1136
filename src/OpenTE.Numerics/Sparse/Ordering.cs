namespace OpenTE.Numerics.Sparse;

/// <summary>Fill-reducing column orderings for <see cref="SparseLU"/>.</summary>
public enum Ordering
{
    /// <summary>Columns in their given order.</summary>
    Natural,
    /// <summary>
    /// Approximate minimum degree (<see cref="Sparse.Amd"/>) on the pattern of A + Aᵀ: the default. Fast on large
    /// patterns and best when diagonal pivots are mostly acceptable (power-flow Jacobians, admittance matrices).
    /// </summary>
    Amd,
    /// <summary>
    /// Exact minimum degree on the explicit elimination graph of A + Aᵀ (<see cref="Sparse.MinimumDegree"/>);
    /// O(Σ d²) work, so meant for small graphs.
    /// </summary>
    MinimumDegree,
    /// <summary>
    /// Approximate minimum degree on the pattern of AᵀA (the column-intersection graph, as COLAMD orders
    /// columns): bounds the fill for any row pivoting, so it suits matrices whose diagonal may be zero.
    /// </summary>
    ColumnMinimumDegree,
    /// <summary>
    /// <see cref="Amd"/> when the diagonal looks usable — at least 95% of the columns have a diagonal entry
    /// passing the pivot threshold on A itself (|a_jj| ≥ PivotTolerance·max|A(:, j)|) — otherwise
    /// <see cref="ColumnMinimumDegree"/>. Symmetric orderings assume diagonal pivots; matrices with many weak
    /// or zero diagonal entries (KKT systems, general unsymmetric matrices) fill far less with the AᵀA order.
    /// </summary>
    Auto,
    /// <summary>
    /// For symmetric saddle-point (KKT) matrices with zero diagonal entries: each zero-diagonal node is
    /// paired with a neighbour (largest coupling), pairs are ordered as one node by approximate minimum degree
    /// on A + Aᵀ and eliminated together, so pivoting inside a pair costs no fill beyond the predicted one.
    /// </summary>
    SaddlePoint,
}
