global using Xunit;
global using NativeHeap.Tests.Support;
