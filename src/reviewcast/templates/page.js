// The page's only script: seek buttons (chapters, transcript), one player at a time, and Copy.
(() => {
  "use strict";

  const playerOf = (element) => {
    const episode = element.closest("[data-episode]");
    return episode ? episode.querySelector("audio") : null;
  };

  const seek = (audio, seconds) => {
    const go = () => {
      audio.currentTime = seconds;
      // play() may be refused (autoplay rules, no audio device); the position is set anyway.
      const playing = audio.play();
      if (playing) playing.catch(() => {});
    };
    if (audio.readyState >= HTMLMediaElement.HAVE_METADATA) {
      go();
    } else {
      // Before metadata the browser may not know the file can seek there: wait for it.
      audio.addEventListener("loadedmetadata", go, { once: true });
      if (audio.networkState === HTMLMediaElement.NETWORK_EMPTY) audio.load();
    }
  };

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-start]");
    if (!button) return;
    const audio = playerOf(button);
    const seconds = Number.parseFloat(button.dataset.start);
    if (audio && Number.isFinite(seconds)) seek(audio, seconds);
  });

  // Two episodes talking at once helps nobody.
  document.addEventListener("play", (event) => {
    for (const other of document.querySelectorAll("audio")) {
      if (other !== event.target) other.pause();
    }
  }, true);

  // Mark the chapter that is playing.
  for (const episode of document.querySelectorAll("[data-episode]")) {
    const audio = episode.querySelector("audio");
    const chapters = [...episode.querySelectorAll(".chapters button[data-start]")];
    if (!audio || chapters.length === 0) continue;
    audio.addEventListener("timeupdate", () => {
      let current = null;
      for (const button of chapters) {
        if (Number.parseFloat(button.dataset.start) <= audio.currentTime + 0.25) current = button;
      }
      for (const button of chapters) {
        if (button === current) button.setAttribute("aria-current", "true");
        else button.removeAttribute("aria-current");
      }
    });
  }

  const copy = document.getElementById("copy-feed");
  const status = document.getElementById("copy-status");
  if (copy) {
    copy.addEventListener("click", async () => {
      const input = document.getElementById(copy.dataset.copyFrom);
      if (!input) return;
      const say = (text) => { if (status) status.textContent = text; };
      try {
        // The Clipboard API needs a secure context (https or localhost).
        await navigator.clipboard.writeText(input.value);
        say("Copied the feed address.");
      } catch {
        input.focus();
        input.select();
        let copied = false;
        try { copied = document.execCommand("copy"); } catch { copied = false; }
        say(copied ? "Copied the feed address." : "Selected: press Ctrl+C (⌘C) to copy.");
      }
    });
  }
})();
