// Lock: System.Threading.Lock (new in .NET 9) for the net8.0 build, over the object's monitor. The C#
// compiler recognises any type named System.Threading.Lock and turns `lock (x)` into
// `using (x.EnterScope())`, so this class gives the same members; the library's locking is otherwise
// identical on both targets (a monitor is what the .NET 9 type replaced).
#if !NET9_0_OR_GREATER
namespace System.Threading;

/// <summary>The .NET 8 stand-in for <c>System.Threading.Lock</c>: a monitor-locked object.</summary>
internal sealed class Lock
{
    // The monitor is a private object's: Monitor calls on `this` would be flagged (CS9216) by the compiler.
    private readonly object _monitor = new();

    /// <summary>True when the current thread holds this lock.</summary>
    public bool IsHeldByCurrentThread => Monitor.IsEntered(_monitor);

    /// <summary>Takes the lock, waiting as long as needed.</summary>
    public void Enter() => Monitor.Enter(_monitor);

    /// <summary>Releases the lock (held by the current thread).</summary>
    public void Exit() => Monitor.Exit(_monitor);

    /// <summary>Takes the lock if it is free; never waits.</summary>
    public bool TryEnter() => Monitor.TryEnter(_monitor);

    /// <summary>Takes the lock and returns the scope whose Dispose releases it (what `lock` calls).</summary>
    public Scope EnterScope()
    {
        Monitor.Enter(_monitor);
        return new Scope(this);
    }

    /// <summary>A held lock; Dispose releases it.</summary>
    public ref struct Scope
    {
        private Lock? _owner;

        internal Scope(Lock owner) => _owner = owner;

        /// <summary>Releases the lock.</summary>
        public void Dispose()
        {
            Lock? owner = _owner;
            _owner = null;
            owner?.Exit();
        }
    }
}
#endif
