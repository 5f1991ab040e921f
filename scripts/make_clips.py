"""Make the bundled clips in resources/clips (espeak-ng speech, a sox music phrase).

    .venv/bin/python scripts/make_clips.py
"""

from pathlib import Path

from explorer.core.audio import save_audio
from explorer.core.synth import chord, concat, pluck_phrase, speak

OUT = Path(__file__).resolve().parent.parent / "resources" / "clips"

SPEECH = {
    "speech_en.wav": ("en-us", "Codec explorer shows how neural audio codecs turn speech into tokens, one codebook at a time."),
    "speech_de.wav": ("de+f3", "Jeder Codebuch trägt einen Teil des Klangs: erst die Worte, dann die Stimme, dann die Details."),
}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, (voice, text) in SPEECH.items():
        save_audio(OUT / name, speak(text, voice, rate=24000), subtype="PCM_16")
    music = concat([pluck_phrase(["G2", "B2", "D3", "G3", "B3", "D4"]), chord(["G2", "B2", "D3"], 1.5)])
    save_audio(OUT / "music_pluck.wav", music, subtype="PCM_16")
    print("wrote", ", ".join(sorted(p.name for p in OUT.glob("*.wav"))))


if __name__ == "__main__":
    main()
