namespace NativeHeap.Tests.General;

/// <summary>Tests that look at the process's address space or RSS run alone, after the parallel ones.</summary>
[CollectionDefinition("Serial", DisableParallelization = true)]
public sealed class SerialCollection;
