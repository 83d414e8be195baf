namespace NativeHeap.Tests.Sharded;

/// <summary>
/// Core v2's tests run one after the other: Validate() walks every heap and needs the engine quiet.
/// No other test class uses core v2, so they may run beside the rest of the suite.
/// </summary>
[CollectionDefinition("Sharded")]
public sealed class ShardedCollection;
