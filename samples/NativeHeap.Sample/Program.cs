// Placeholder until the general heap lands (replaced in the same series of commits).
Console.WriteLine("NativeHeap sample: general heap not built yet");
