#include "context.hpp"

int main(int argc, char** argv) {
  return kairos::cli::run(argc, argv);
}
