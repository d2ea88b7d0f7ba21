// Filled in by its owner; the file keeps the library buildable meanwhile.
namespace kairos {}
