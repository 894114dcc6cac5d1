#include "tools/convert/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace triage::convert {

bool read_file_bytes(const std::string& path, uint64_t max_bytes, std::vector<uint8_t>& out, Error& err) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(err, Errc::Io, path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail(err, Errc::Io, path + ": not a regular file");
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size > max_bytes) {
    ::close(fd);
    return fail(err, Errc::Format,
                path + ": file is " + std::to_string(size) + " bytes, above the cap of " +
                    std::to_string(max_bytes));
  }
  out.assign(static_cast<size_t>(size), 0);
  uint64_t done = 0;
  while (done < size) {
    ssize_t n = ::read(fd, out.data() + done, static_cast<size_t>(size - done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return fail(err, Errc::Io, path + ": read failed at byte " + std::to_string(done), done);
    }
    done += static_cast<uint64_t>(n);
  }
  ::close(fd);
  return true;
}

}  // namespace triage::convert
